/*
 * c_api_test.c: the C API's contract through the real libconvnextkit.so, built with the system C
 * compiler by scripts/test-c-api. Every bad argument must come back as a status code with a
 * message, never a crash; good calls must agree with each other across threads.
 *
 *   c_api_test MODEL.onnx INPUT.f32 IMAGE.jpg SCRATCH_DIR
 *
 * MODEL is a small float model whose golden input is INPUT; IMAGE is a photo; SCRATCH_DIR is an
 * empty folder for the corrupt files the test writes. Ends with "N passed, M failed".
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <convnextkit.h>

#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

/* Records one check; on failure prints what was expected and the library's last message. */
static void check(int ok, const char *what) {
    if (ok) { passed++; return; }
    failed++;
    fprintf(stderr, "FAIL: %s (last error: %s)\n", what, convnextkit_last_error());
}

/* A failing call: the expected status and a non-empty message. */
static void check_fails(convnextkit_status got, convnextkit_status expected, const char *what) {
    char line[512];
    snprintf(line, sizeof line, "%s: status %d (%s), expected %d (%s)", what, got, convnextkit_status_string(got),
             expected, convnextkit_status_string(expected));
    check(got == expected && convnextkit_last_error()[0] != '\0', line);
    if (getenv("C_API_TEST_VERBOSE")) printf("%-40s -> %s\n", what, convnextkit_last_error());
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "%s: read error\n", path); exit(2); }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void write_all(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) { perror(path); exit(2); }
}

static void test_library_constants(void) {
    check(strcmp(convnextkit_version(), CONVNEXTKIT_VERSION) == 0, "convnextkit_version equals the header's");
    check(strcmp(convnextkit_status_string(CONVNEXTKIT_OK), "ok") == 0, "status string of OK");
    check(strcmp(convnextkit_status_string(12345), "unknown status") == 0, "status string of an unknown code");
    check(convnextkit_last_error() != NULL && convnextkit_last_error()[0] == '\0', "no message before any failure");
    check(convnextkit_max_threads() >= 1, "max_threads at least 1");
    convnextkit_options_init(NULL); /* must not crash */
    check(1, "options_init(NULL) returns");
}

static void test_open_failures(const char *model_path, const char *scratch) {
    convnextkit_model *model = (convnextkit_model *)&model; /* must be reset to NULL on failure */
    check_fails(convnextkit_open(NULL, NULL, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(NULL path)");
    check(model == NULL, "open failure sets *model to NULL");
    check_fails(convnextkit_open(model_path, NULL, NULL), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(NULL out)");
    check_fails(convnextkit_open("/nonexistent/model.onnx", NULL, &model), CONVNEXTKIT_ERROR_IO, "open(missing file)");
    check(strstr(convnextkit_last_error(), "/nonexistent/model.onnx") != NULL, "the message names the file");
    check_fails(convnextkit_open(scratch, NULL, &model), CONVNEXTKIT_ERROR_IO, "open(a folder)");
    check_fails(convnextkit_open("\xff\xfe.onnx", NULL, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(path not UTF-8)");

    char path[4096];
    snprintf(path, sizeof path, "%s/garbage.onnx", scratch);
    unsigned char garbage[4096];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (unsigned char)(i * 2654435761u >> 13);
    write_all(path, garbage, sizeof garbage);
    check_fails(convnextkit_open(path, NULL, &model), CONVNEXTKIT_ERROR_INVALID_MODEL, "open(random bytes as .onnx)");

    size_t size = 0;
    unsigned char *onnx = read_all(model_path, &size);
    snprintf(path, sizeof path, "%s/truncated.onnx", scratch);
    write_all(path, onnx, size / 2);
    check_fails(convnextkit_open(path, NULL, &model), CONVNEXTKIT_ERROR_INVALID_MODEL, "open(truncated .onnx)");
    snprintf(path, sizeof path, "%s/garbage.cnxk", scratch);
    write_all(path, "CNXK", 4);
    convnextkit_status s = convnextkit_open(path, NULL, &model);
    check(s != CONVNEXTKIT_OK && model == NULL && convnextkit_last_error()[0], "open(4-byte .cnxk) fails with a message");
    free(onnx);

    convnextkit_options o;
    convnextkit_options_init(&o);
    o.struct_size = 0;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(options.struct_size 0)");
    convnextkit_options_init(&o);
    o.engine = "turbo";
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(engine \"turbo\")");
    check(strstr(convnextkit_last_error(), "reference") != NULL, "the message lists the valid engines");
    convnextkit_options_init(&o);
    o.crop_pct = 2;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(crop_pct 2)");
    o.crop_pct = NAN;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(crop_pct NaN)");
    convnextkit_options_init(&o);
    o.threads = -1;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(threads -1)");
    o.threads = convnextkit_max_threads() + 1;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(threads max+1)");
    convnextkit_options_init(&o);
    o.input_size = -32;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(input_size -32)");
    convnextkit_options_init(&o);
    o.std[0] = 1; /* std[1], std[2] stay 0: not a valid std */
    s = convnextkit_open(model_path, &o, &model);
    check(s != CONVNEXTKIT_OK && model == NULL, "open(std with zeros) fails");
    setenv("CONVNEXT_ISA", "z80", 1);
    check_fails(convnextkit_open(model_path, NULL, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(CONVNEXT_ISA=z80)");
    check(strstr(convnextkit_last_error(), "CONVNEXT_ISA") != NULL, "the message names CONVNEXT_ISA");
    unsetenv("CONVNEXT_ISA");
    convnextkit_options_init(&o);
    o.labels_path = "/nonexistent/labels.txt";
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_IO, "open(missing labels file)");
}

static void test_handle_failures(void) {
    float in[4] = {0}, out[4];
    convnextkit_input d = { .struct_size = sizeof d };
    check_fails(convnextkit_get_input(NULL, &d), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "get_input(NULL model)");
    int local = 0;
    convnextkit_model *bogus[] = { (convnextkit_model *)(uintptr_t)1, (convnextkit_model *)(uintptr_t)0x1234,
                                   (convnextkit_model *)&local, (convnextkit_model *)(uintptr_t)UINTPTR_MAX };
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        check_fails(convnextkit_infer(bogus[i], in, 4, out, 4, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(a handle never opened)");
        check(convnextkit_label(bogus[i], 0) == NULL, "label(a handle never opened) is NULL");
    }
    convnextkit_close(NULL);
    convnextkit_close(bogus[1]);
    check(1, "close(NULL) and close(a handle never opened) return");
}

typedef struct {
    convnextkit_model *model;
    const float *input;
    size_t input_count, classes;
    float *logits;
    convnextkit_status status;
    char message[256];
} worker;

/* One thread's inferences; also checks that its own failure message stays its own. */
static void *run_worker(void *arg) {
    worker *w = arg;
    w->status = CONVNEXTKIT_OK;
    for (int i = 0; i < 3 && w->status == CONVNEXTKIT_OK; i++)
        w->status = convnextkit_infer(w->model, w->input, w->input_count, w->logits, w->classes, 1);
    convnextkit_infer(w->model, w->input, w->input_count - 1, w->logits, w->classes, 1);
    snprintf(w->message, sizeof w->message, "%s", convnextkit_last_error());
    return NULL;
}

static void test_model_calls(const char *model_path, const char *input_path, const char *image_path) {
    convnextkit_model *model = NULL;
    convnextkit_status s = convnextkit_open(model_path, NULL, &model);
    check(s == CONVNEXTKIT_OK && model != NULL, "open(the model)");
    if (!model) return;
    convnextkit_input d = { .struct_size = 0 };
    check_fails(convnextkit_get_input(model, &d), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "get_input(struct_size 0)");
    check_fails(convnextkit_get_input(model, NULL), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "get_input(NULL out)");
    d.struct_size = sizeof d;
    check(convnextkit_get_input(model, &d) == CONVNEXTKIT_OK, "get_input");
    check(d.channels == 3 && d.element_count == (int64_t)d.channels * d.height * d.width && d.classes > 0,
          "the input description is consistent");
    check(d.precision && d.format && d.engine && d.variant && d.interpolation && d.resize_mode, "description strings are set");

    size_t n = (size_t)d.element_count, k = (size_t)d.classes, bytes = 0;
    float *input = (float *)read_all(input_path, &bytes);
    check(bytes == n * sizeof(float), "the golden input has the model's size");
    float *logits = calloc(k, sizeof(float)), *again = calloc(k, sizeof(float));
    check(convnextkit_infer(model, input, n, logits, k, 0) == CONVNEXTKIT_OK, "infer");
    check(convnextkit_infer(model, input, n, again, k, 0) == CONVNEXTKIT_OK, "infer again");
    check(memcmp(logits, again, k * sizeof(float)) == 0, "the same call gives the same logits");
    float *two = calloc(k, sizeof(float));
    check(convnextkit_infer(model, input, n, two, k, 2) == CONVNEXTKIT_OK, "infer with 2 threads");
    /* Splitting one inference may change the last bits of a sum, never more. */
    float worst = 0, scale = 0;
    for (size_t i = 0; i < k; i++) {
        worst = fmaxf(worst, fabsf(two[i] - logits[i]));
        scale = fmaxf(scale, fabsf(logits[i]));
    }
    check(worst <= 1e-5f * scale, "2 threads agree with 1 within 1e-5 x max|logit|");
    free(two);

    check_fails(convnextkit_infer(model, NULL, n, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(NULL input)");
    check_fails(convnextkit_infer(model, input, n, NULL, k, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(NULL logits)");
    check_fails(convnextkit_infer(model, input, n - 1, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "infer(input_count - 1)");
    check_fails(convnextkit_infer(model, input, n + 1, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "infer(input_count + 1)");
    check_fails(convnextkit_infer(model, input, 0, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "infer(input_count 0)");
    check_fails(convnextkit_infer(model, input, SIZE_MAX, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(input_count SIZE_MAX)");
    check_fails(convnextkit_infer(model, input, n, logits, k - 1, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "infer(logits_count - 1)");
    check_fails(convnextkit_infer(model, input, n, logits, SIZE_MAX / 2, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "infer(logits_count huge)");
    check_fails(convnextkit_infer(model, input, n, logits, k, -1), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(threads -1)");
    check_fails(convnextkit_infer(model, input, n, logits, k, convnextkit_max_threads() + 1),
                CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(threads max+1)");
    check_fails(convnextkit_infer(model, input, n, logits, k, INT32_MIN), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer(threads INT32_MIN)");
    check(memcmp(logits, again, k * sizeof(float)) == 0, "failed calls leave the logits untouched");

    check(convnextkit_label(model, -1) == NULL, "label(-1) is NULL");
    check(convnextkit_label(model, d.classes) == NULL, "label(classes) is NULL");
    check(convnextkit_label(model, INT32_MAX) == NULL, "label(INT32_MAX) is NULL");

    size_t image_size = 0;
    unsigned char *image = read_all(image_path, &image_size);
    convnextkit_prediction top[12];
    float *image_logits = calloc(k, sizeof(float));
    check(convnextkit_classify_image(model, image, image_size, top, 5, image_logits, k, 0) == CONVNEXTKIT_OK, "classify_image");
    check(top[0].index >= 0 && top[0].probability > 0 && top[0].probability <= 1, "the top class is valid");
    for (int i = 1; i < 5 && (size_t)i < k; i++) check(top[i].probability <= top[i - 1].probability, "probabilities fall");
    convnextkit_prediction from_file[5];
    check(convnextkit_classify_file(model, image_path, from_file, 5, NULL, 0, 0) == CONVNEXTKIT_OK, "classify_file");
    check(memcmp(top, from_file, sizeof from_file) == 0, "classify_file equals classify_image on the same bytes");
    if (k < 12) {
        check(convnextkit_classify_image(model, image, image_size, top, 12, NULL, 0, 0) == CONVNEXTKIT_OK, "classify_image, top_count > classes");
        check(top[k - 1].index >= 0 && top[k].index == -1 && top[11].index == -1, "entries past the class count are -1");
    }
    float *tensor = calloc(n, sizeof(float));
    check(convnextkit_preprocess_image(model, image, image_size, tensor, n) == CONVNEXTKIT_OK, "preprocess_image");
    check(convnextkit_infer(model, tensor, n, logits, k, 0) == CONVNEXTKIT_OK, "infer the preprocessed tensor");
    check(memcmp(logits, image_logits, k * sizeof(float)) == 0, "preprocess + infer equals classify's logits");
    check_fails(convnextkit_preprocess_image(model, image, image_size, tensor, n - 1), CONVNEXTKIT_ERROR_INVALID_INPUT, "preprocess(tensor_count - 1)");
    check_fails(convnextkit_preprocess_image(model, NULL, image_size, tensor, n), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "preprocess(NULL image)");
    check_fails(convnextkit_preprocess_image(model, image, image_size, NULL, n), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "preprocess(NULL tensor)");

    check_fails(convnextkit_classify_image(model, NULL, 10, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "classify(NULL image)");
    check_fails(convnextkit_classify_image(model, image, 0, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "classify(image_size 0)");
    check_fails(convnextkit_classify_image(model, image, image_size / 3, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "classify(truncated image)");
    unsigned char noise[256];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)(i * 7 + 3);
    check_fails(convnextkit_classify_image(model, noise, sizeof noise, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "classify(noise)");
    check_fails(convnextkit_classify_image(model, image, SIZE_MAX, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "classify(image_size SIZE_MAX)");
    check_fails(convnextkit_classify_image(model, image, image_size, NULL, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "classify(NULL top, top_count 5)");
    check_fails(convnextkit_classify_image(model, image, image_size, top, 5, image_logits, k + 1, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "classify(logits_count + 1)");
    check_fails(convnextkit_classify_image(model, image, image_size, top, 5, NULL, 3, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "classify(NULL logits, logits_count 3)");
    check_fails(convnextkit_classify_image(model, image, image_size, top, 5, NULL, 0, 99999), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "classify(threads 99999)");
    check_fails(convnextkit_classify_file(model, NULL, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "classify_file(NULL path)");
    check_fails(convnextkit_classify_file(model, "/nonexistent.jpg", top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_IO, "classify_file(missing)");
    check_fails(convnextkit_classify_file(model, "/", top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_IO, "classify_file(a folder)");

    /* NV12: a grey frame of the model's size works; bad sizes and lengths are refused. */
    int w = d.width, h = d.height;
    size_t frame_size = (size_t)w * (size_t)h * 3 / 2;
    unsigned char *frame = malloc(frame_size);
    memset(frame, 128, frame_size);
    check(convnextkit_classify_nv12(model, frame, frame_size, w, h, top, 5, NULL, 0, 0) == CONVNEXTKIT_OK, "classify_nv12");
    check_fails(convnextkit_classify_nv12(model, frame, frame_size - 1, w, h, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "nv12(size - 1)");
    check_fails(convnextkit_classify_nv12(model, frame, frame_size, w + 1, h, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "nv12(odd width)");
    check_fails(convnextkit_classify_nv12(model, frame, frame_size, 0, h, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "nv12(width 0)");
    check_fails(convnextkit_classify_nv12(model, frame, frame_size, w, -h, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "nv12(negative height)");
    check_fails(convnextkit_classify_nv12(model, frame, frame_size, INT32_MAX, INT32_MAX, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_INPUT, "nv12(INT32_MAX sides)");
    check_fails(convnextkit_classify_nv12(model, NULL, frame_size, w, h, top, 5, NULL, 0, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "nv12(NULL frame)");
    free(frame);

    /* Four threads on one model at once give the sequential logits; messages are per thread. */
    check(convnextkit_infer(model, input, n, logits, k, 1) == CONVNEXTKIT_OK, "sequential reference");
    worker workers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker){ .model = model, .input = input, .input_count = n, .classes = k, .logits = calloc(k, sizeof(float)) };
        pthread_create(&threads[i], NULL, run_worker, &workers[i]);
    }
    check_fails(convnextkit_infer(model, NULL, n, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "main thread fails meanwhile");
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        check(workers[i].status == CONVNEXTKIT_OK, "concurrent infer");
        check(memcmp(workers[i].logits, logits, k * sizeof(float)) == 0, "concurrent logits equal the sequential ones");
        check(strstr(workers[i].message, "input") != NULL && strstr(workers[i].message, "NULL") == NULL,
              "each thread sees its own last error");
        free(workers[i].logits);
    }
    check(strstr(convnextkit_last_error(), "NULL") != NULL, "the main thread keeps its own message");

    convnextkit_close(model);
    check_fails(convnextkit_infer(model, input, n, logits, k, 0), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "infer after close");
    check_fails(convnextkit_get_input(model, &d), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "get_input after close");
    convnextkit_close(model);
    check(1, "closing twice returns");
    free(input); free(logits); free(again); free(image); free(image_logits); free(tensor);
}

/* 1 when /proc/cpuinfo lists a bf16 unit the library's bf16 kernels use (AVX512-BF16 or AMX-BF16). */
static int cpu_has_bf16(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) found = strstr(line, " avx512_bf16") != NULL || strstr(line, " amx_bf16") != NULL;
    fclose(f);
    return found;
}

static double cosine(const float *a, const float *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

/* options.precision, and a caller built with the 1.0 header (no precision field). */
static void test_precision(const char *model_path, const char *input_path) {
    convnextkit_model *model = NULL;
    convnextkit_options o;
    convnextkit_options_init(&o);
    o.precision = "fp8";
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(precision \"fp8\")");
    check(strstr(convnextkit_last_error(), "bf16") != NULL, "the message lists the valid precisions");
    /* The 1.0 struct ends before `precision`: only struct_size bytes are read, so the "fp8" past them is not seen. */
    o.struct_size = (uint32_t)offsetof(convnextkit_options, precision);
    convnextkit_status s = convnextkit_open(model_path, &o, &model);
    check(s == CONVNEXTKIT_OK && model != NULL, "open(options of the 1.0 size) reads no field past struct_size");
    convnextkit_input d = { .struct_size = sizeof d };
    check(model && convnextkit_get_input(model, &d) == CONVNEXTKIT_OK && strcmp(d.precision, "f32") == 0,
          "a 1.0 caller gets the model's own precision (f32)");
    convnextkit_close(model);
    model = NULL;
    o.struct_size = (uint32_t)offsetof(convnextkit_options, precision) - 1;
    check_fails(convnextkit_open(model_path, &o, &model), CONVNEXTKIT_ERROR_INVALID_ARGUMENT, "open(struct_size below the 1.0 size)");

    convnextkit_options_init(&o);
    o.precision = "bf16";
    s = convnextkit_open(model_path, &o, &model);
    if (!cpu_has_bf16()) {
        check(s != CONVNEXTKIT_OK && model == NULL && strstr(convnextkit_last_error(), "bf16") != NULL,
              "open(precision bf16) is refused with a message on a CPU without bf16 units");
        printf("SKIP bf16 inference through the C API: this CPU has neither AVX512-BF16 nor AMX-BF16 (checked the refusal instead)\n");
        return;
    }
    check(s == CONVNEXTKIT_OK && model != NULL, "open(precision bf16)");
    if (!model) return;
    convnextkit_model *f32 = NULL;
    check(convnextkit_open(model_path, NULL, &f32) == CONVNEXTKIT_OK, "open(the model in f32)");
    d.struct_size = sizeof d;
    check(convnextkit_get_input(model, &d) == CONVNEXTKIT_OK && strcmp(d.precision, "bf16") == 0 &&
          strcmp(d.engine, "fast-bf16") == 0, "the bf16 model describes itself as bf16 (fast-bf16)");
    size_t n = (size_t)d.element_count, k = (size_t)d.classes, bytes = 0;
    float *input = (float *)read_all(input_path, &bytes);
    float *a = calloc(k, sizeof(float)), *b = calloc(k, sizeof(float));
    check(convnextkit_infer(model, input, n, a, k, 0) == CONVNEXTKIT_OK && f32 &&
          convnextkit_infer(f32, input, n, b, k, 0) == CONVNEXTKIT_OK, "infer in bf16 and f32");
    /* The bf16 rounding is visible, and stays within the bf16 bar (cosine 0.999, as the Swift tests). */
    check(memcmp(a, b, k * sizeof(float)) != 0, "bf16 logits differ from the f32 ones");
    check(cosine(a, b, k) >= 0.999, "bf16 logits within cosine 0.999 of f32");
    free(input); free(a); free(b);
    convnextkit_close(f32);
    convnextkit_close(model);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.onnx INPUT.f32 IMAGE.jpg SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_library_constants();
    test_open_failures(argv[1], argv[4]);
    test_handle_failures();
    test_model_calls(argv[1], argv[2], argv[3]);
    test_precision(argv[1], argv[2]);
    printf("c_api_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

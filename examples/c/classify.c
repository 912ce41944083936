/*
 * classify.c: ConvNeXtKit from C.
 *
 *   classify MODEL IMAGE... [--top K] [--size N] [--crop-pct P] [--labels FILE] [--threads T]
 *       prints the K most probable classes of each JPEG/PNG, as `convnext classify` does
 *   classify MODEL --infer INPUT.f32 OUTPUT.f32 [--size N] [--threads T]
 *       raw float32 NCHW tensors in (one or more images back to back), raw logits out, as
 *       `convnext infer` does
 *
 * Build (after `swift build -c release`), from the repository root:
 *   cc -I Sources/CConvNeXtKitAPI/include examples/c/classify.c -L .build/release -lconvnextkit \
 *      -Wl,-rpath,"$PWD/.build/release" -o classify
 */
#include <convnextkit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the calling thread's last error after `what` failed, and returns 1. */
static int fail(const char *what, convnextkit_status status) {
    fprintf(stderr, "error: %s: %s (%s)\n", what, convnextkit_last_error(), convnextkit_status_string(status));
    return 1;
}

/* Reads a whole file into memory; NULL (and a message) when it cannot. */
static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    unsigned char *data = NULL;
    size_t used = 0, capacity = 0, n;
    do {
        if (used == capacity) {
            capacity = capacity ? capacity * 2 : 1 << 16;
            unsigned char *grown = realloc(data, capacity);
            if (!grown) { free(data); fclose(f); fprintf(stderr, "%s: out of memory\n", path); return NULL; }
            data = grown;
        }
        n = fread(data + used, 1, capacity - used, f);
        used += n;
    } while (n > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(data); fprintf(stderr, "%s: read error\n", path); return NULL; }
    *size = used;
    return data;
}

/* `--infer`: every image of INPUT through the model, the logits to OUTPUT. */
static int infer_file(convnextkit_model *model, const convnextkit_input *in, const char *input_path,
                      const char *output_path, int threads) {
    size_t bytes = 0;
    unsigned char *data = read_file(input_path, &bytes);
    if (!data) return 1;
    size_t per_image = (size_t)in->element_count * sizeof(float);
    if (bytes == 0 || bytes % per_image != 0) {
        fprintf(stderr, "error: %s holds %zu bytes, not a multiple of %zu (float32 1x%dx%dx%d)\n",
                input_path, bytes, per_image, in->channels, in->height, in->width);
        free(data);
        return 1;
    }
    size_t images = bytes / per_image;
    float *logits = malloc((size_t)in->classes * sizeof(float));
    FILE *out = fopen(output_path, "wb");
    int status = logits && out ? 0 : 1;
    if (!out) perror(output_path);
    for (size_t i = 0; i < images && status == 0; i++) {
        const float *image = (const float *)(data + i * per_image);  /* little-endian hosts only */
        convnextkit_status s = convnextkit_infer(model, image, (size_t)in->element_count, logits, (size_t)in->classes, threads);
        if (s != CONVNEXTKIT_OK) status = fail("convnextkit_infer", s);
        else if (fwrite(logits, sizeof(float), (size_t)in->classes, out) != (size_t)in->classes) {
            perror(output_path);
            status = 1;
        }
    }
    if (out && fclose(out) != 0) { perror(output_path); status = 1; }
    free(logits);
    free(data);
    return status;
}

/* Classifies one image file and prints its top classes. */
static int classify_one(convnextkit_model *model, const char *path, size_t top_count, int threads) {
    size_t size = 0;
    unsigned char *image = read_file(path, &size);
    if (!image) return 1;
    convnextkit_prediction *top = calloc(top_count, sizeof *top);
    convnextkit_status s = top ? convnextkit_classify_image(model, image, size, top, top_count, NULL, 0, threads)
                               : CONVNEXTKIT_ERROR_INTERNAL;
    free(image);
    if (s != CONVNEXTKIT_OK) {
        free(top);
        fprintf(stderr, "error: %s: %s\n", path, convnextkit_last_error());
        return 1;
    }
    printf("%s\n", path);
    for (size_t i = 0; i < top_count && top[i].index >= 0; i++) {
        const char *label = convnextkit_label(model, top[i].index);
        if (label) printf("  %.4f  %s (%d)\n", top[i].probability, label, top[i].index);
        else printf("  %.4f  class %d\n", top[i].probability, top[i].index);
    }
    free(top);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE... [--top K] [--size N] [--crop-pct P] [--labels FILE] [--threads T]\n"
                        "       %s MODEL --infer INPUT.f32 OUTPUT.f32 [--size N] [--threads T]\n", argv[0], argv[0]);
        return 2;
    }
    convnextkit_options options;
    convnextkit_options_init(&options);
    size_t top_count = 5;
    int threads = 0;
    const char *infer_in = NULL, *infer_out = NULL;
    const char **images = calloc((size_t)argc, sizeof *images);
    int image_count = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--top") && has_value) top_count = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--size") && has_value) options.input_size = atoi(argv[++i]);
        else if (!strcmp(a, "--crop-pct") && has_value) options.crop_pct = atof(argv[++i]);
        else if (!strcmp(a, "--labels") && has_value) options.labels_path = argv[++i];
        else if (!strcmp(a, "--threads") && has_value) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--infer") && i + 2 < argc) { infer_in = argv[++i]; infer_out = argv[++i]; }
        else images[image_count++] = a;
    }

    convnextkit_model *model = NULL;
    convnextkit_status s = convnextkit_open(argv[1], &options, &model);
    if (s != CONVNEXTKIT_OK) { free(images); return fail("convnextkit_open", s); }
    convnextkit_input in = { .struct_size = sizeof in };
    s = convnextkit_get_input(model, &in);
    if (s != CONVNEXTKIT_OK) { convnextkit_close(model); free(images); return fail("convnextkit_get_input", s); }
    fprintf(stderr, "%s: %s %s, input 1x%dx%dx%d (%s), %d classes, libconvnextkit %s\n", argv[1], in.variant,
            in.precision, in.channels, in.height, in.width, in.format, in.classes, convnextkit_version());

    int failed = 0;
    if (infer_in) failed = infer_file(model, &in, infer_in, infer_out, threads);
    for (int i = 0; i < image_count; i++) failed |= classify_one(model, images[i], top_count ? top_count : 1, threads);
    convnextkit_close(model);
    free(images);
    return failed;
}

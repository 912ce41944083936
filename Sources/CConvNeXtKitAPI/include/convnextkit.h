/*
 * convnextkit.h: the C API of ConvNeXtKit (libconvnextkit.so).
 *
 * Open a ConvNeXt image classifier (.onnx, .pth, .safetensors, .cnxk float or int8, or a registry
 * name such as "atto" that is already in the cache), then run it on float32 NCHW tensors, encoded
 * JPEG/PNG images or NV12 frames. A model handle is immutable once opened: any number of threads
 * may call it at once (each call uses its own scratch memory).
 *
 * Conventions:
 *   - Every function that can fail returns a convnextkit_status; CONVNEXTKIT_OK is 0. On failure
 *     convnextkit_last_error() gives a one-line message for the calling thread.
 *   - Every buffer is owned by the caller and passed with its element count; the library checks
 *     the counts against the model and never keeps a pointer after the call returns.
 *   - Null pointers, wrong counts, unknown or closed handles and unreadable files are reported as
 *     errors, never as a crash. A count larger than the memory behind its pointer cannot be
 *     detected and is undefined behaviour, as in any C API.
 *   - Strings are UTF-8 and NUL-terminated. Strings returned by the library are owned by it:
 *     those of a model stay valid until convnextkit_close, the others for the life of the process
 *     (convnextkit_last_error: until the next failing call on the same thread).
 *
 * Build: `swift build -c release --product convnextkit` writes .build/release/libconvnextkit.so.
 * Link with `-I Sources/CConvNeXtKitAPI/include -L .build/release -lconvnextkit`; see docs/embedding.md.
 */
#ifndef CONVNEXTKIT_H
#define CONVNEXTKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this header; convnextkit_version() gives the library's. */
#define CONVNEXTKIT_VERSION "0.1.0"
#define CONVNEXTKIT_VERSION_MAJOR 0
#define CONVNEXTKIT_VERSION_MINOR 1
#define CONVNEXTKIT_VERSION_PATCH 0

/** A status code: 0 on success, one of the CONVNEXTKIT_ERROR_ values otherwise. */
typedef int32_t convnextkit_status;

enum {
    CONVNEXTKIT_OK = 0,
    /** A null pointer, a count that does not match the model, a bad option value, a closed handle. */
    CONVNEXTKIT_ERROR_INVALID_ARGUMENT = 1,
    /** A file could not be opened or read (missing, a folder, unreadable). */
    CONVNEXTKIT_ERROR_IO = 2,
    /** A model file that is not readable as the format it claims (truncated, corrupt). */
    CONVNEXTKIT_ERROR_INVALID_MODEL = 3,
    /** A readable model that is not a ConvNeXt this library runs. */
    CONVNEXTKIT_ERROR_UNSUPPORTED_MODEL = 4,
    /** Input data of the wrong content: an image that does not decode, an NV12 frame of the wrong length. */
    CONVNEXTKIT_ERROR_INVALID_INPUT = 5,
    /** A configuration value (preprocessing, labels file content) that is wrong. */
    CONVNEXTKIT_ERROR_INVALID_CONFIG = 6,
    /** Anything else; the message says what. */
    CONVNEXTKIT_ERROR_INTERNAL = 7
};

/** An opened model. Create with convnextkit_open, free with convnextkit_close. */
typedef struct convnextkit_model convnextkit_model;

/**
 * How to open a model. Initialise with convnextkit_options_init, then change fields; zero and NULL
 * fields keep the model's own settings.
 */
typedef struct convnextkit_options {
    /** sizeof(convnextkit_options), set by convnextkit_options_init (lets later versions add fields). */
    uint32_t struct_size;
    /** Square input side for float models, a multiple of 32 (0: the model's own; a .cnxk keeps its compiled size). */
    int32_t input_size;
    /** Threads per inference when a call passes 0 (0: 1). At most convnextkit_max_threads(). */
    int32_t threads;
    /** Apply a JPEG's EXIF orientation (0: no, as timm). */
    int32_t apply_exif_orientation;
    /** timm crop_pct in (0, 1] (0: the model's, usually 0.875). */
    double crop_pct;
    /** Per-channel mean and standard deviation in 0...1; used when std[0] > 0, else the model's. */
    float mean[3];
    float std[3];
    /** "fast" (default) or "reference" (the plain oracle) for float models; NULL: fast. */
    const char *engine;
    /** "bicubic" or "bilinear" (NULL: the model's). */
    const char *interpolation;
    /** "crop" (timm: resize and centre crop) or "letterbox" (NULL: crop). */
    const char *resize_mode;
    /** YUV range of NV12 frames given to a float model: "full" or "video" (NULL: full). */
    const char *nv12_range;
    /** A labels file: one name per line or index<TAB>id<TAB>name (NULL: ImageNet-1k for 1000 classes). */
    const char *labels_path;
    /**
     * Float models: "f32" or "bf16" for the pointwise layers (NULL: the model's own, f32 unless
     * packed with --precision bf16). bf16 needs AMX-BF16 or AVX512-BF16 (else the open fails with
     * a message); int8 models refuse it. Added after 1.0: a caller built with the 1.0 header passes
     * a smaller struct_size, and the field then reads as NULL.
     */
    const char *precision;
} convnextkit_options;

/** What a model takes and how images become it. Set struct_size = sizeof(convnextkit_input) before the call. */
typedef struct convnextkit_input {
    uint32_t struct_size;
    /** The input tensor is float32 NCHW [1, channels, height, width]. */
    int32_t channels;
    int32_t height;
    int32_t width;
    /** Floats in one input: channels * height * width. */
    int64_t element_count;
    /** Logits per inference. */
    int32_t classes;
    /** 1 when the model has class names (convnextkit_label), 0 when only indices. */
    int32_t has_labels;
    /** Parameter count, or -1 when unknown. */
    int64_t parameters;
    /** "f32", "bf16" or "int8". */
    const char *precision;
    /** The pixel format the deployed model takes: "rgb" for float model files; "nv12", "bgr", ... for a compiled .cnxk. */
    const char *format;
    /** The engine: "fast-f32", "reference" or "int8". */
    const char *engine;
    /** The architecture: "atto", "femto", ..., or "custom". */
    const char *variant;
    /** Preprocessing of photos: timm's eval transform with these settings. */
    int32_t size;
    double crop_pct;
    const char *interpolation;
    const char *resize_mode;
    float mean[3];
    float std[3];
} convnextkit_input;

/** One ranked class. */
typedef struct convnextkit_prediction {
    /** Class index, or -1 for the entries past the model's class count. */
    int32_t index;
    /** Softmax probability (0 for the entries past the class count). */
    float probability;
} convnextkit_prediction;

/** The library's version, "MAJOR.MINOR.PATCH" (compare with CONVNEXTKIT_VERSION). */
const char *convnextkit_version(void);

/** A short name for a status code ("ok", "invalid argument", ...); never NULL. */
const char *convnextkit_status_string(convnextkit_status status);

/** The message of the last failed call on this thread ("" when none has failed). */
const char *convnextkit_last_error(void);

/** The largest thread count one inference accepts. */
int32_t convnextkit_max_threads(void);

/** Fills `options` with the defaults (every field zero or NULL, struct_size set). */
void convnextkit_options_init(convnextkit_options *options);

/**
 * Opens a model file or registry name. `options` may be NULL for the defaults. On success *model
 * is a new handle; on failure it is set to NULL.
 */
convnextkit_status convnextkit_open(const char *path, const convnextkit_options *options,
                                    convnextkit_model **model);

/** Frees a model; NULL is ignored. Calls still running on other threads finish first. */
void convnextkit_close(convnextkit_model *model);

/** Describes the model's input and output (input->struct_size must be set). */
convnextkit_status convnextkit_get_input(const convnextkit_model *model, convnextkit_input *input);

/** The name of class `index`, or NULL when the model has no labels or the index is out of range. */
const char *convnextkit_label(const convnextkit_model *model, int32_t index);

/**
 * Logits for one float32 NCHW input. `input_count` must equal the input's element_count and
 * `logits_count` its classes. `threads` 0 uses the model's default.
 */
convnextkit_status convnextkit_infer(const convnextkit_model *model, const float *input, size_t input_count,
                                     float *logits, size_t logits_count, int32_t threads);

/**
 * The model's input tensor for an encoded JPEG or PNG (decode and the model's preprocessing);
 * `tensor_count` must equal element_count.
 */
convnextkit_status convnextkit_preprocess_image(const convnextkit_model *model, const void *image, size_t image_size,
                                                float *tensor, size_t tensor_count);

/**
 * Classifies an encoded JPEG or PNG: the `top_count` most probable classes, best first, into `top`.
 * `logits` (may be NULL with logits_count 0) receives the raw logits when given; its count must
 * then equal classes. `threads` 0 uses the model's default.
 */
convnextkit_status convnextkit_classify_image(const convnextkit_model *model, const void *image, size_t image_size,
                                              convnextkit_prediction *top, size_t top_count,
                                              float *logits, size_t logits_count, int32_t threads);

/** convnextkit_classify_image for an image file; errors name the file. */
convnextkit_status convnextkit_classify_file(const convnextkit_model *model, const char *path,
                                             convnextkit_prediction *top, size_t top_count,
                                             float *logits, size_t logits_count, int32_t threads);

/**
 * Classifies an NV12 frame: the Y plane (width x height bytes), then interleaved U, V
 * (width x height / 2 bytes); `frame_size` must be width * height * 3 / 2, sides even. A frame of
 * the model's input size is converted as a deployed model does; other sizes are preprocessed like photos.
 */
convnextkit_status convnextkit_classify_nv12(const convnextkit_model *model, const uint8_t *frame, size_t frame_size,
                                             int32_t width, int32_t height,
                                             convnextkit_prediction *top, size_t top_count,
                                             float *logits, size_t logits_count, int32_t threads);

#ifdef __cplusplus
}
#endif

#endif /* CONVNEXTKIT_H */

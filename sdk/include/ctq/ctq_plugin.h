/*
 * ctq plugin ABI — the only thing a plugin and the host share.
 *
 * Plain C on purpose: a plugin may be built by another compiler, another standard library or
 * another LibTorch than the host, so nothing but these structs, enums and function pointers
 * crosses the boundary. No exceptions may escape a plugin function (the C++ layer in
 * ctq/plugin.hpp catches them and turns them into CTQ_ERR_INTERNAL).
 *
 * Lifecycle
 *   1. The host dlopens the library and reads the exported function
 *      `uint32_t ctq_plugin_abi_version(void)`. A value other than the host's CTQ_ABI_VERSION
 *      refuses the plugin before anything else in it runs.
 *   2. The host calls `int32_t ctq_plugin_entry(const ctq_host_api*, const ctq_registrar*)`.
 *      The plugin registers any number of layouts, optimizers and presets through the registrar
 *      and returns CTQ_OK. Descriptors (and every string they point to) must stay valid until
 *      the library is unloaded: use static storage.
 *
 * Tensors cross as ctq_tensor_view: a borrowed pointer plus dtype, shape, strides (in elements)
 * and device. The caller owns the memory; a callee never frees or keeps it after returning.
 *
 * Errors: every fallible function returns a ctq_status and, when not CTQ_OK, writes a
 * NUL-terminated human-readable message into the ctq_error it was given (truncated to fit).
 */
#ifndef CTQ_PLUGIN_H
#define CTQ_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any incompatible change to a struct or function signature below. */
#define CTQ_ABI_VERSION 1u

#if defined(_WIN32)
#define CTQ_EXPORT __declspec(dllexport)
#else
#define CTQ_EXPORT __attribute__((visibility("default")))
#endif

#define CTQ_ENTRY_SYMBOL "ctq_plugin_entry"
#define CTQ_ABI_VERSION_SYMBOL "ctq_plugin_abi_version"

#define CTQ_MAX_DIMS 8
#define CTQ_MAX_OUTPUTS 8
#define CTQ_ERROR_CAPACITY 1024
#define CTQ_SUFFIX_CAPACITY 48

/* ------------------------------------------------------------------------------------------ */
/* Status and errors                                                                          */

typedef enum ctq_status {
    CTQ_OK = 0,
    CTQ_ERR_INVALID_ARGUMENT = 1, /* bad shape, params or view */
    CTQ_ERR_UNSUPPORTED = 2,      /* e.g. device not supported: the host may retry on the CPU */
    CTQ_ERR_NON_FINITE = 3,       /* NaN or Inf in the input */
    CTQ_ERR_OUT_OF_MEMORY = 4,
    CTQ_ERR_INTERNAL = 5          /* anything else, including a caught C++ exception */
} ctq_status;

typedef struct ctq_error {
    char message[CTQ_ERROR_CAPACITY];
} ctq_error;

/* ------------------------------------------------------------------------------------------ */
/* Data types: every dtype of the safetensors format, in its spelling order.                   */

typedef enum ctq_dtype {
    CTQ_DTYPE_BOOL = 0,
    CTQ_DTYPE_U8,
    CTQ_DTYPE_I8,
    CTQ_DTYPE_I16,
    CTQ_DTYPE_U16,
    CTQ_DTYPE_F16,
    CTQ_DTYPE_BF16,
    CTQ_DTYPE_I32,
    CTQ_DTYPE_U32,
    CTQ_DTYPE_F32,
    CTQ_DTYPE_F64,
    CTQ_DTYPE_I64,
    CTQ_DTYPE_U64,
    CTQ_DTYPE_C64,
    CTQ_DTYPE_F8_E4M3,
    CTQ_DTYPE_F8_E5M2,
    CTQ_DTYPE_F8_E8M0,
    CTQ_DTYPE_F8_E4M3FNUZ,
    CTQ_DTYPE_F8_E5M2FNUZ,
    CTQ_DTYPE_F4,
    CTQ_DTYPE_F6_E2M3,
    CTQ_DTYPE_F6_E3M2,
    CTQ_DTYPE_COUNT
} ctq_dtype;

typedef enum ctq_device_kind { CTQ_DEVICE_CPU = 0, CTQ_DEVICE_CUDA = 1 } ctq_device_kind;

typedef struct ctq_device {
    int32_t kind;   /* ctq_device_kind */
    int32_t index;  /* CUDA ordinal; 0 on the CPU */
    void* stream;   /* cudaStream_t to enqueue on, or NULL for the default stream */
} ctq_device;

typedef struct ctq_tensor_view {
    void* data;
    int32_t dtype; /* ctq_dtype */
    int32_t ndim;  /* 0 = scalar */
    int64_t shape[CTQ_MAX_DIMS];
    int64_t strides[CTQ_MAX_DIMS]; /* in elements; row-major contiguous unless stated */
    ctq_device device;
} ctq_tensor_view;

/* ------------------------------------------------------------------------------------------ */
/* Host services handed to a plugin.                                                          */

typedef enum ctq_log_level {
    CTQ_LOG_DEBUG = 0,
    CTQ_LOG_VERBOSE = 1,
    CTQ_LOG_INFO = 2,
    CTQ_LOG_WARNING = 3,
    CTQ_LOG_ERROR = 4
} ctq_log_level;

typedef struct ctq_host_api {
    uint32_t struct_size;
    uint32_t abi_version;
    void* host_ctx;
    void (*log)(void* host_ctx, int32_t level, const char* message);
} ctq_host_api;

/* ------------------------------------------------------------------------------------------ */
/* Layouts: a quantization format.                                                            */

typedef enum ctq_scaling_mode {
    CTQ_SCALING_TENSOR = 0, /* one scale for the whole weight */
    CTQ_SCALING_ROW = 1,    /* one scale per output row */
    CTQ_SCALING_BLOCK = 2   /* one scale per block_size x block_size tile */
} ctq_scaling_mode;

/* Everything the planner may vary per layer. Layouts ignore fields they do not use. */
typedef struct ctq_layout_params {
    uint32_t struct_size;
    int32_t scaling_mode;      /* ctq_scaling_mode; must be one the layout lists */
    int64_t block_size;        /* tile edge (blockwise) or group; 0 = layout default */
    int32_t convrot;           /* int8_tensorwise: weights are group-Hadamard rotated */
    int64_t convrot_group_size;
    int32_t full_precision_mm; /* written into .comfy_quant; no effect on the numbers */
} ctq_layout_params;

/* One output tensor of a quantized layer, named by its suffix after the layer's base name. */
typedef struct ctq_tensor_spec {
    char suffix[CTQ_SUFFIX_CAPACITY]; /* ".weight", ".weight_scale" ... */
    int32_t dtype;
    int32_t ndim;
    int64_t shape[CTQ_MAX_DIMS];
} ctq_tensor_spec;

typedef enum ctq_layout_flags {
    CTQ_LAYOUT_COMFY_NATIVE = 1 << 0,   /* stock ComfyUI loads it without a custom node */
    CTQ_LAYOUT_NEEDS_FPMM = 1 << 1,     /* always write full_precision_matrix_mult (e5m2) */
    CTQ_LAYOUT_SUPPORTS_CUDA = 1 << 2,  /* functions accept CUDA views */
    CTQ_LAYOUT_SUPPORTS_LEARNED = 1 << 3, /* bracket/encode_values/expand_scale are provided */
    /* ComfyUI's low-precision matmul for this format (torch._scaled_mm) needs both dimensions
     * to be multiples of 16; other shapes get full_precision_matrix_mult from the planner. */
    CTQ_LAYOUT_MATMUL_NEEDS_16 = 1 << 4,
    /* quantize() also takes the weight as stored, a contiguous CPU view in BF16 or F16, and
     * gives exactly the bits it gives for that weight widened to F32 (NaN/Inf refused the same
     * way), so the host can skip the F32 copy. CUDA views and every other function stay F32. */
    CTQ_LAYOUT_ACCEPTS_16BIT_INPUT = 1 << 5
} ctq_layout_flags;

/*
 * A quantized layer is an array of output views in the order output_specs gives; index 0 is
 * always the codes (`.weight` in the storage dtype), the rest its scales. Weights handed to a
 * layout are F32, 2-D [M, N] = [out_features, in_features], contiguous (BF16 or F16 too for
 * quantize() on the CPU when the layout sets CTQ_LAYOUT_ACCEPTS_16BIT_INPUT).
 */
typedef struct ctq_layout_desc {
    uint32_t struct_size;
    const char* name;        /* the .comfy_quant "format" string, unique among layouts */
    const char* description; /* one line for `ctq plugins` and --help */
    const char* family;      /* "fp8", "int8" ...: --int8 etc. pick a layout by family... */
    const char* scaling_modes; /* ...and scaling mode: comma list of "tensor", "row", "block" */
    int32_t storage_dtype;   /* ctq_dtype of the codes */
    uint32_t flags;          /* ctq_layout_flags */
    void* user;              /* passed back to every function below */

    /* Fills `specs` (capacity CTQ_MAX_OUTPUTS) for a weight of `shape` [M, N]. */
    int32_t (*output_specs)(void* user, const int64_t shape[2], const ctq_layout_params* p,
                            ctq_tensor_spec* specs, int32_t* count, ctq_error* err);

    /* Exact bytes of the layer's `.comfy_quant` JSON; *len receives the length (no NUL). */
    int32_t (*comfy_quant_json)(void* user, const ctq_layout_params* p, char* buf,
                                size_t capacity, size_t* len, ctq_error* err);

    /* Round-to-nearest: computes scales and codes into `outs`. */
    int32_t (*quantize)(void* user, const ctq_tensor_view* w, const ctq_layout_params* p,
                        ctq_tensor_view* outs, int32_t n_outs, ctq_error* err);

    /* Reconstructs F32 [M, N] from a quantized layer. */
    int32_t (*dequantize)(void* user, const ctq_tensor_view* outs, int32_t n_outs,
                          const ctq_layout_params* p, ctq_tensor_view* w_out, ctq_error* err);

    /* ---- Grid operations for learned rounding (CTQ_LAYOUT_SUPPORTS_LEARNED). The scales in
     * `outs` are those quantize() produced; only the codes change. ---- */

    /* For each element of target x (F32 [M, N], dequantized domain): the two nearest grid
     * values lo <= x <= hi representable with that element's scale (lo == hi when x is on
     * the grid or saturated). */
    int32_t (*bracket)(void* user, const ctq_tensor_view* x, const ctq_tensor_view* outs,
                       int32_t n_outs, const ctq_layout_params* p, ctq_tensor_view* lo,
                       ctq_tensor_view* hi, ctq_error* err);

    /* Writes outs[0] codes for values v that lie on the grid (as bracket returned them). */
    int32_t (*encode_values)(void* user, const ctq_tensor_view* v, ctq_tensor_view* outs,
                             int32_t n_outs, const ctq_layout_params* p, ctq_error* err);

    /* Per-element dequantization multiplier, F32 [M, N]. */
    int32_t (*expand_scale)(void* user, const ctq_tensor_view* outs, int32_t n_outs,
                            const ctq_layout_params* p, ctq_tensor_view* scale_out,
                            ctq_error* err);
} ctq_layout_desc;

/* ------------------------------------------------------------------------------------------ */
/* Optimizers: a first-order update rule for learned rounding.                                */

typedef struct ctq_optimizer_desc {
    uint32_t struct_size;
    const char* name; /* --optimizer value */
    const char* description;
    void* user;
    /* options_json: a JSON object of the optimizer's hyper-parameters (may be "{}"). */
    int32_t (*create)(void* user, const char* options_json, int64_t n_elements, void** state,
                      ctq_error* err);
    /* param and grad: F32 views of n_elements on one device. Updates param in place. */
    int32_t (*step)(void* state, ctq_tensor_view* param, const ctq_tensor_view* grad, double lr,
                    ctq_error* err);
    void (*destroy)(void* state);
} ctq_optimizer_desc;

/* ------------------------------------------------------------------------------------------ */
/* Model presets: which layers of a model family to keep, drop or treat specially.           */

/*
 * rules_json is the same document a user may pass with --preset FILE.json:
 *   { "name": "t5xxl", "help": "...", "category": "text",
 *     "exclude": ["norm", ...], "highprec": [...], "remove": ["decoder", ...],
 *     "text_encoder_input_scale": true, "implies": ["generic_text"] }
 * Keys are plain case-sensitive substrings of the full tensor key.
 */
typedef struct ctq_preset_desc {
    uint32_t struct_size;
    const char* name;     /* CLI flag without dashes, e.g. "t5xxl" */
    const char* help;
    const char* category; /* "text", "diffusion", "video", "image" */
    const char* rules_json;
} ctq_preset_desc;

/* ------------------------------------------------------------------------------------------ */
/* Registration                                                                               */

typedef struct ctq_registrar {
    uint32_t struct_size;
    void* host_ctx;
    int32_t (*add_layout)(void* host_ctx, const ctq_layout_desc* desc, ctq_error* err);
    int32_t (*add_optimizer)(void* host_ctx, const ctq_optimizer_desc* desc, ctq_error* err);
    int32_t (*add_preset)(void* host_ctx, const ctq_preset_desc* desc, ctq_error* err);
    /* Plugin identity for `ctq plugins` and error messages. */
    int32_t (*set_info)(void* host_ctx, const char* name, const char* version,
                        const char* description);
} ctq_registrar;

typedef uint32_t (*ctq_abi_version_fn)(void);
typedef int32_t (*ctq_entry_fn)(const ctq_host_api* host, const ctq_registrar* reg,
                                ctq_error* err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CTQ_PLUGIN_H */

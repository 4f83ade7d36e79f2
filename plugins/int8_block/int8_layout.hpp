// INT8 layouts of the ctq_int8 plugin: int8_blockwise (bs x bs tiles, custom-node format) and
// int8_tensorwise (per tensor or per row, optionally ConvRot-rotated; loads in stock ComfyUI).
// Everything that differs between them is one row of kInt8Layouts (int8_plugin.cpp).
#pragma once

#include <ctq/kernels/int8.hpp>
#include <ctq/plugin.hpp>

#include <string>
#include <vector>

namespace ctq::int8 {

struct Int8LayoutTraits {
    const char* name;           // the .comfy_quant "format"
    const char* description;
    const char* scaling_modes;  // what the planner may ask for
    uint32_t flags;
    int64_t default_block;      // tile edge when params.block_size is 0; 0 = no tiles
    bool writes_group_size;     // "group_size": bs in .comfy_quant
    bool writes_input_scale;    // .input_scale = 1.0 F32 0-d, as the reference does for int8 block
    bool allows_convrot;        // ConvRot rotation with row scales
};

// What one call resolves from the params and the weight shape (validated).
struct Int8Plan {
    kern::Int8Mode mode;
    int64_t block;          // tile edge (block mode), else 0
    int64_t convrot_group;  // Hadamard group, 0 = no rotation
    kern::Int8Tiling tiling;
};

class Int8Layout : public Layout {
public:
    explicit Int8Layout(const Int8LayoutTraits& traits) : t_(traits) {}

    const char* name() const override { return t_.name; }
    const char* description() const override { return t_.description; }
    const char* family() const override { return "int8"; }
    const char* scaling_modes() const override { return t_.scaling_modes; }
    ctq_dtype storage_dtype() const override { return CTQ_DTYPE_I8; }
    uint32_t flags() const override { return t_.flags; }

    std::vector<ctq_tensor_spec> output_specs(Shape2 shape, const ctq_layout_params& p) const override;
    std::string comfy_quant_json(const ctq_layout_params& p) const override;
    void quantize(const ctq_tensor_view& w, const ctq_layout_params& p, ctq_tensor_view* outs,
                  int n) const override;
    void dequantize(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                    ctq_tensor_view& w_out) const override;

    // Grid operations (int8_grid_ops.cpp). For ConvRot layers they work in the rotated domain:
    // x, lo, hi and the values are W_rot = W · blockdiag(H)^T coordinates.
    void bracket(const ctq_tensor_view& x, const ctq_tensor_view* outs, int n,
                 const ctq_layout_params& p, ctq_tensor_view& lo, ctq_tensor_view& hi) const override;
    void encode_values(const ctq_tensor_view& v, ctq_tensor_view* outs, int n,
                       const ctq_layout_params& p) const override;
    void expand_scale(const ctq_tensor_view* outs, int n, const ctq_layout_params& p,
                      ctq_tensor_view& scale_out) const override;

    Int8Plan plan(Shape2 shape, const ctq_layout_params& p) const;
    // Checks that outs match output_specs (count, dtype, shape, contiguous) for `shape` and lie
    // on the CPU, or on CUDA when `cuda`.
    void check_outs(Shape2 shape, const ctq_layout_params& p, const ctq_tensor_view* outs, int n,
                    const char* op, bool cuda = false) const;
    [[noreturn]] void fail(ctq_status status, const std::string& what) const;

private:
    const Int8LayoutTraits& t_;
};

// The [rows, cols] of a quantized layer, read from its codes view.
Shape2 codes_shape(const ctq_tensor_view* outs, int n);
// CUDA views are accepted only when the plugin was built with CUDA (CTQ_ERR_UNSUPPORTED otherwise).
void require_cuda_build(const char* layout);

}  // namespace ctq::int8

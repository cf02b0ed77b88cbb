#include "format/graph_check.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "format/input_normalization.h"

namespace sparrow::format {

namespace {

using nlohmann::json;

[[noreturn]] void fail(FormatErrc code, const std::string& message) { throw FormatError(code, message); }

// Checked access to the untrusted JSON: every missing field or wrong type is a bad_graph naming it.
class Fields {
 public:
  Fields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {
    if (!obj_.is_object()) fail(FormatErrc::bad_graph, where_ + " must be a JSON object");
  }
  const std::string& where() const { return where_; }
  bool has(const char* key) const { return obj_.contains(key); }
  const json& get(const char* key) const {
    const auto it = obj_.find(key);
    if (it == obj_.end()) fail(FormatErrc::bad_graph, where_ + ": missing \"" + key + "\"");
    return *it;
  }
  std::string str(const char* key) const {
    const json& v = get(key);
    if (!v.is_string()) fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" must be a string");
    return v.get<std::string>();
  }
  std::int64_t integer(const char* key, std::int64_t lo, std::int64_t hi) const {
    const json& v = get(key);
    if (!v.is_number_integer()) fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" must be an integer");
    // Unsigned values above INT64_MAX would wrap in get<int64_t>().
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
      fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" is out of range");
    const std::int64_t i = v.get<std::int64_t>();
    if (i < lo || i > hi)
      fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" is " + std::to_string(i) + ", expected [" +
                                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return i;
  }
  double number(const char* key) const {
    const json& v = get(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" must be a finite number");
    return v.get<double>();
  }
  std::vector<std::int64_t> ints(const char* key, std::size_t count, std::int64_t lo, std::int64_t hi) const {
    const json& v = get(key);
    if (!v.is_array() || v.size() != count)
      fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" must be an array of " + std::to_string(count) + " integers");
    std::vector<std::int64_t> out;
    for (const auto& e : v) {
      if (!e.is_number_integer() || (e.is_number_unsigned() && e.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) ||
          e.get<std::int64_t>() < lo || e.get<std::int64_t>() > hi)
        fail(FormatErrc::bad_graph, where_ + ": \"" + key + "\" holds a value outside [" + std::to_string(lo) + ", " +
                                        std::to_string(hi) + "]");
      out.push_back(e.get<std::int64_t>());
    }
    return out;
  }

 private:
  const json& obj_;
  std::string where_;
};

const json kEmptyObject = json::object();

const json& attrs_of(const json& op) {
  const auto it = op.find("attrs");
  return it == op.end() ? kEmptyObject : *it;
}

std::string dims_text(const std::vector<std::uint64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// Resolves op.weights[role] to a tensor with exactly this dtype and these dims.
const TensorInfo& weight_tensor(const File& file, const json& weights, const std::string& op_where, const char* role,
                                DType dtype, const std::vector<std::uint64_t>& dims) {
  Fields w(weights, op_where + " weights");
  const std::string name = w.str(role);
  const TensorInfo* t = file.find(name);
  if (!t) fail(FormatErrc::missing_tensor, file.source() + ": " + op_where + ": weight '" + role + "' names tensor '" + name + "', which is not in the file");
  if (t->dtype != dtype || (!dims.empty() && t->dims != dims))
    fail(FormatErrc::bad_weight, file.source() + ": tensor '" + name + "' (" + role + " of " + op_where + ") is " +
                                     dtype_name(t->dtype) + " " + dims_text(t->dims) + ", expected " + dtype_name(dtype) +
                                     " " + (dims.empty() ? std::string("[any]") : dims_text(dims)));
  return *t;
}

// The roles an op's "weights" may hold; anything else is a bad_graph.
void check_roles(const json& weights, const std::string& where, const std::set<std::string>& allowed) {
  Fields w(weights, where + " weights");
  for (const auto& [role, value] : weights.items())
    if (!allowed.count(role)) fail(FormatErrc::bad_graph, where + ": unknown weight role \"" + role + "\"");
}

void check_int8_values(const File& file, const WeightsView& v, const std::string& where) {
  const std::string src = file.source() + ": " + where;
  const std::size_t k4 = k4_of(v.k);
  std::vector<std::int64_t> sums(v.n, 0);
  if (v.format == WeightFormat::sparse_int8) {
    const std::size_t tile_rows = tile_rows_of(v.n, v.block_rows), rows = v.block_rows;
    if (v.row_ptr[0] != 0) fail(FormatErrc::bad_row_ptr, src + ": row_ptr[0] is " + std::to_string(v.row_ptr[0]) + ", expected 0");
    for (std::size_t t = 0; t < tile_rows; ++t) {
      const std::string what = rows == 1 ? "row " + std::to_string(t) : "tile row " + std::to_string(t);
      if (v.row_ptr[t + 1] < v.row_ptr[t]) fail(FormatErrc::bad_row_ptr, src + ": row_ptr decreases at " + what);
      if (v.row_ptr[t + 1] > v.block_count)
        fail(FormatErrc::bad_row_ptr, src + ": row_ptr[" + std::to_string(t + 1) + "] = " + std::to_string(v.row_ptr[t + 1]) +
                                          " exceeds the " + std::to_string(v.block_count) + (rows == 1 ? " blocks" : " tiles"));
      for (std::uint32_t b = v.row_ptr[t]; b < v.row_ptr[t + 1]; ++b) {
        const std::size_t col = block_k4_at(v, b);
        if (col >= k4)
          fail(FormatErrc::bad_block_index, src + ": block_k4[" + std::to_string(b) + "] (" + what + ") is " +
                                                std::to_string(col) + ", K/4 is " + std::to_string(k4));
        if (b > v.row_ptr[t] && col <= block_k4_at(v, b - 1))
          fail(FormatErrc::unsorted_blocks, src + ": " + what + ": block_k4 not strictly increasing at block " + std::to_string(b));
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t word = b * rows + r;
          if (t * rows + r >= v.n && v.block_w[word] != 0)
            fail(FormatErrc::bad_weight, src + ": " + what + ": block_w[" + std::to_string(word) + "] belongs to channel " +
                                             std::to_string(t * rows + r) + " past out_features " + std::to_string(v.n) +
                                             " and must be 0");
          for (std::size_t j = 0; j < 4; ++j)
            if (col * 4 + j >= v.k && block_weight(v, word, j) != 0)
              fail(FormatErrc::bad_weight, src + ": " + what + ": block_w[" + std::to_string(word) + "] has a nonzero weight past K");
        }
      }
    }
    if (v.row_ptr[tile_rows] != v.block_count)
      fail(FormatErrc::bad_row_ptr, src + ": row_ptr[" + std::to_string(tile_rows) + "] = " + std::to_string(v.row_ptr[tile_rows]) +
                                        " but there are " + std::to_string(v.block_count) + (rows == 1 ? " blocks" : " tiles"));
  } else {
    const std::size_t groups = (v.n + kDenseInt8GroupRows - 1) / kDenseInt8GroupRows;
    for (std::size_t row = 0; row < groups * kDenseInt8GroupRows; ++row)
      for (std::size_t i = 0; i < k4 * 4; ++i) {
        const std::int8_t q = v.dense[((row / kDenseInt8GroupRows * k4 + i / 4) * kDenseInt8GroupRows + row % kDenseInt8GroupRows) * 4 + i % 4];
        if ((row >= v.n || i >= v.k) && q != 0)
          fail(FormatErrc::bad_weight, src + ": padding weight (row " + std::to_string(row) + ", input " + std::to_string(i) + ") is not 0");
        if (row < v.n) sums[row] += q;
      }
  }
  for (std::size_t row = 0; row < v.n; ++row) {
    if (v.row_sum && sums[row] != v.row_sum[row])
      fail(FormatErrc::bad_row_sum, src + ": row_sum[" + std::to_string(row) + "] is " + std::to_string(v.row_sum[row]) +
                                        ", the weights sum to " + std::to_string(sums[row]));
    if (!std::isfinite(v.scale[row]) || !(v.scale[row] > 0.0f))
      fail(FormatErrc::bad_scale, src + ": scale[" + std::to_string(row) + "] is not a finite positive number");
  }
}

// A UINT8 quantization as the engine uses it: the scale rounded to float32, the zero point.
struct QuantAttrs {
  float scale = 1.0f;
  std::int64_t zero_point = 0;
};

QuantAttrs check_quant_attrs(const Fields& a, const char* scale, const char* zero_point) {
  const auto s = float32_of(a.number(scale));
  if (!s || !(*s > 0.0f))
    fail(FormatErrc::bad_scale, a.where() + ": \"" + scale + "\" must be a number > 0 whose float32 rounding is > 0 and finite");
  return {*s, a.integer(zero_point, 0, 255)};
}

// fp32 panels: the weights of channels past out_features in the last panel are +0.0 (all bytes zero).
void check_fp32_padding(const File& file, const WeightsView& v, const std::string& where) {
  const std::size_t panels = (v.n + kF32PanelRows - 1) / kF32PanelRows;
  for (std::size_t k = 0; k < v.k; ++k)
    for (std::size_t r = v.n - (panels - 1) * kF32PanelRows; r < kF32PanelRows; ++r) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, &v.f32[((panels - 1) * v.k + k) * kF32PanelRows + r], sizeof bits);
      if (bits != 0)
        fail(FormatErrc::bad_weight, file.source() + ": " + where + ": padding weight (channel " +
                                         std::to_string((panels - 1) * kF32PanelRows + r) + " past out_features " +
                                         std::to_string(v.n) + ", input " + std::to_string(k) + ") is not +0.0");
    }
}

std::string fmt_quant(const QuantAttrs& q) {
  char scale[32];
  std::snprintf(scale, sizeof scale, "%.9g", static_cast<double>(q.scale));
  return std::string("scale ") + scale + ", zero point " + std::to_string(q.zero_point);
}

}  // namespace

WeightsView resolve_weights(const json& op, const File& file, bool check_values) {
  const std::string where = "op '" + (op.contains("name") && op["name"].is_string() ? op["name"].get<std::string>() : "?") + "'";
  const Fields a(attrs_of(op), file.source() + ": " + where + " attrs");
  const auto format = weight_format_from_name(a.str("weight_format"));
  if (!format) fail(FormatErrc::bad_graph, a.where() + ": weight_format must be sparse_int8, dense_int8 or fp32");
  WeightsView v;
  v.format = *format;
  v.n = static_cast<std::size_t>(a.integer("out_features", 1, static_cast<std::int64_t>(kMaxDim)));
  v.k = static_cast<std::size_t>(a.integer("in_features", 1, static_cast<std::int64_t>(kMaxDim)));
  const std::uint64_t n = v.n, k4 = k4_of(v.k);
  const auto it = op.find("weights");
  if (it == op.end()) fail(FormatErrc::bad_graph, file.source() + ": " + where + ": missing \"weights\"");
  const json& w = *it;
  if (*format == WeightFormat::sparse_int8) {
    check_roles(w, file.source() + ": " + where, {"row_ptr", "block_k4", "block_w", "scale", "bias"});
    v.block_rows = a.has("block_rows") ? static_cast<std::size_t>(a.integer("block_rows", 1, 64)) : 1;
    if (!valid_block_rows(v.block_rows))
      fail(FormatErrc::bad_graph, a.where() + ": block_rows " + std::to_string(v.block_rows) +
                                      " is not supported by this reader (it reads 1, 2 or 4 rows per tile)");
    const auto wanted = block_k4_dtype_for(k4);
    if (!wanted)
      fail(FormatErrc::bad_index_width, a.where() + ": in_features " + std::to_string(v.k) + " is too large for sparse_int8 (K/4 " +
                                            std::to_string(k4) + " > " + std::to_string(kMaxK4U16) + ")");
    const std::string index = a.str("block_k4_dtype");
    if (index != dtype_name(*wanted))
      fail(FormatErrc::bad_index_width, a.where() + ": block_k4_dtype is \"" + index + "\", K/4 = " + std::to_string(k4) +
                                            " requires \"" + dtype_name(*wanted) + "\" (u8 up to 256, u16 up to 65536)");
    v.block_k4_dtype = *wanted;
    v.row_ptr = file.data_as<std::uint32_t>(weight_tensor(file, w, where, "row_ptr", DType::u32, {tile_rows_of(n, v.block_rows) + 1}));
    const TensorInfo& block_k4 = weight_tensor(file, w, where, "block_k4", *wanted, {});
    if (block_k4.dims.size() != 1) fail(FormatErrc::bad_weight, file.source() + ": tensor '" + block_k4.name + "' must have rank 1");
    v.block_count = block_k4.dims[0];
    v.block_k4 = file.data(block_k4);
    const TensorInfo& block_w = weight_tensor(file, w, where, "block_w", DType::i32, {});
    if (block_w.dims.size() != 1 || block_w.dims[0] != v.block_count * v.block_rows)
      fail(FormatErrc::bad_block_count, file.source() + ": tensor '" + block_w.name + "' is " + dims_text(block_w.dims) +
                                            ", expected " + std::to_string(v.block_rows) + " weight word(s) per block_k4 entry: [" +
                                            std::to_string(v.block_count * v.block_rows) + "]");
    v.block_w = file.data_as<std::int32_t>(block_w);
  } else if (*format == WeightFormat::dense_int8) {
    check_roles(w, file.source() + ": " + where, {"weight", "row_sum", "scale", "bias"});
    v.dense = file.data_as<std::int8_t>(weight_tensor(file, w, where, "weight", DType::i8,
                                                      {(n + kDenseInt8GroupRows - 1) / kDenseInt8GroupRows, k4, kDenseInt8GroupRows, 4}));
  } else {
    check_roles(w, file.source() + ": " + where, {"weight", "bias"});
    v.f32 = file.data_as<float>(weight_tensor(file, w, where, "weight", DType::f32,
                                              {(n + kF32PanelRows - 1) / kF32PanelRows, v.k, kF32PanelRows}));
  }
  if (*format == WeightFormat::dense_int8)
    v.row_sum = file.data_as<std::int32_t>(weight_tensor(file, w, where, "row_sum", DType::i32, {n}));
  if (*format != WeightFormat::fp32) {
    v.scale = file.data_as<float>(weight_tensor(file, w, where, "scale", DType::f32, {n}));
    check_quant_attrs(a, "input_scale", "input_zero_point");
  }
  if (w.contains("bias")) v.bias = file.data_as<float>(weight_tensor(file, w, where, "bias", DType::f32, {n}));
  if (check_values && *format != WeightFormat::fp32) check_int8_values(file, v, where);
  if (check_values && *format == WeightFormat::fp32) check_fp32_padding(file, v, where);
  return v;
}

void check_graph(const File& file) {
  const std::string src = file.source() + ": graph";
  const json& graph = file.graph();
  const Fields g(graph, src);
  if (g.has("metadata") && !g.get("metadata").is_object()) fail(FormatErrc::bad_graph, src + ": \"metadata\" must be an object");
  std::set<std::string> defined;
  const auto name_list = [&](const json& list, const std::string& where) {
    if (!list.is_array()) fail(FormatErrc::bad_graph, where + " must be an array");
    std::vector<std::string> names;
    for (const auto& e : list) {
      if (!e.is_string() || e.get<std::string>().empty()) fail(FormatErrc::bad_graph, where + " must hold non-empty strings");
      names.push_back(e.get<std::string>());
    }
    return names;
  };
  const json& inputs = g.get("inputs");
  if (!inputs.is_array() || inputs.empty()) fail(FormatErrc::bad_graph, src + ": \"inputs\" must be a non-empty array");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Fields in(inputs[i], src + ": inputs[" + std::to_string(i) + "]");
    const std::string name = in.str("name");
    if (!dtype_from_name(in.str("dtype"))) fail(FormatErrc::bad_graph, in.where() + ": unknown dtype");
    const json& shape = in.get("shape");
    if (!shape.is_array() || shape.empty() || shape.size() > kMaxRank)
      fail(FormatErrc::bad_graph, in.where() + ": \"shape\" must be an array of 1 to 4 dimensions");
    for (const auto d : in.ints("shape", shape.size(), -1, static_cast<std::int64_t>(kMaxDim)))
      if (d == 0) fail(FormatErrc::bad_graph, in.where() + ": \"shape\" holds 0; a size is -1 (chosen at run time) or 1 to 2^32");
    if (name.empty() || !defined.insert(name).second) fail(FormatErrc::bad_graph, in.where() + ": name empty or used twice");
  }

  // Ops and the number of inputs each takes (attention: the mask is optional).
  static const std::map<std::string, std::pair<std::size_t, std::size_t>> kOps = {
      {"quantize", {1, 1}}, {"dequantize", {1, 1}}, {"linear", {1, 1}},    {"conv2d", {1, 1}},
      {"embedding", {1, 1}}, {"layer_norm", {1, 1}}, {"gelu", {1, 1}},     {"relu", {1, 1}},
      {"tanh", {1, 1}},      {"softmax", {1, 1}},    {"attention", {3, 4}}, {"add", {2, 2}},
      {"pooling", {1, 1}},   {"flatten", {1, 1}},
      {"rms_norm", {1, 1}},  {"rotary", {1, 1}},     {"swiglu", {2, 2}},   {"causal_attention", {3, 3}},
  };
  const json& ops = g.get("ops");
  if (!ops.is_array()) fail(FormatErrc::bad_graph, src + ": \"ops\" must be an array");
  std::set<std::string> op_names;
  // Output value -> the quantize op producing it, for the INT8 layers reading it.
  std::map<std::string, std::pair<std::string, QuantAttrs>> quantized;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Fields o(ops[i], src + ": ops[" + std::to_string(i) + "]");
    const std::string name = o.str("name"), kind = o.str("op");
    const std::string where = "op '" + name + "'";
    if (name.empty() || !op_names.insert(name).second) fail(FormatErrc::bad_graph, o.where() + ": op name empty or used twice");
    const auto spec = kOps.find(kind);
    if (spec == kOps.end()) fail(FormatErrc::bad_graph, src + ": " + where + ": unknown op \"" + kind + "\"");
    const auto ins = name_list(o.get("inputs"), src + ": " + where + " inputs");
    if (ins.size() < spec->second.first || ins.size() > spec->second.second)
      fail(FormatErrc::bad_graph, src + ": " + where + ": " + kind + " takes " + std::to_string(spec->second.first) +
                                      (spec->second.first == spec->second.second ? "" : " to " + std::to_string(spec->second.second)) +
                                      " inputs, got " + std::to_string(ins.size()));
    for (const auto& in : ins)
      if (!defined.count(in)) fail(FormatErrc::bad_graph, src + ": " + where + ": input '" + in + "' is not defined before it");
    const auto outs = name_list(o.get("outputs"), src + ": " + where + " outputs");
    if (outs.size() != 1) fail(FormatErrc::bad_graph, src + ": " + where + ": an op has exactly one output");
    if (!defined.insert(outs[0]).second) fail(FormatErrc::bad_graph, src + ": " + where + ": output '" + outs[0] + "' is defined twice");
    if (o.has("attrs") && !o.get("attrs").is_object()) fail(FormatErrc::bad_graph, src + ": " + where + ": \"attrs\" must be an object");
    const Fields a(attrs_of(ops[i]), src + ": " + where + " attrs");
    const json& weights = o.has("weights") ? o.get("weights") : kEmptyObject;

    if (kind == "linear" || kind == "conv2d") {
      const WeightsView v = resolve_weights(ops[i], file, /*check_values=*/true);
      if (v.format != WeightFormat::fp32) {
        // The layer's u8 input comes straight from a quantize op with the same parameters (as float32).
        const auto q = quantized.find(ins[0]);
        if (q == quantized.end())
          fail(FormatErrc::bad_input_quant, src + ": " + where + ": an INT8 layer's input '" + ins[0] + "' must be the output of a quantize op");
        const QuantAttrs mine = check_quant_attrs(a, "input_scale", "input_zero_point");
        if (mine.scale != q->second.second.scale || mine.zero_point != q->second.second.zero_point)
          fail(FormatErrc::bad_input_quant,
               src + ": " + where + ": input_scale/input_zero_point (" + fmt_quant(mine) + ") differ from quantize op '" +
                   q->second.first + "' (" + fmt_quant(q->second.second) + ") that produces its input");
      }
      if (kind == "conv2d") {
        const auto in_c = a.integer("in_channels", 1, static_cast<std::int64_t>(kMaxDim));
        const auto out_c = a.integer("out_channels", 1, static_cast<std::int64_t>(kMaxDim));
        const auto kernel = a.ints("kernel", 2, 1, 1024);
        a.ints("stride", 2, 1, 1024);
        a.ints("padding", 2, 0, 1024);
        if (a.has("patch_order")) {
          const std::string order = a.str("patch_order");
          if (order != "chw" && !(order == "hwc" && in_c % 4 == 0))
            fail(FormatErrc::bad_graph, a.where() + ": patch_order must be chw, or hwc with in_channels a multiple of 4");
        }
        if (static_cast<std::uint64_t>(out_c) != v.n || static_cast<std::uint64_t>(in_c * kernel[0] * kernel[1]) != v.k)
          fail(FormatErrc::bad_graph, a.where() + ": in_features must be in_channels*kh*kw and out_features out_channels");
      }
    } else if (kind == "embedding") {
      check_roles(weights, src + ": " + where, {"table"});
      const TensorInfo& t = weight_tensor(file, weights, where, "table", DType::f32, {});
      if (t.dims.size() != 2 || t.dims[0] == 0 || t.dims[1] == 0)
        fail(FormatErrc::bad_weight, src + ": " + where + ": table must be [rows, width], both at least 1");
      const std::string indices = a.str("indices");
      if (indices == "constant") a.integer("index", 0, static_cast<std::int64_t>(t.dims[0]) - 1);
      else if (indices != "ids" && indices != "positions")
        fail(FormatErrc::bad_graph, a.where() + ": \"indices\" must be ids, positions or constant");
    } else if (kind == "rms_norm") {
      check_roles(weights, src + ": " + where, {"gamma"});
      const TensorInfo& gamma = weight_tensor(file, weights, where, "gamma", DType::f32, {});
      if (gamma.dims.size() != 1 || gamma.dims[0] == 0)
        fail(FormatErrc::bad_weight, src + ": " + where + ": gamma must have rank 1 and at least 1 element");
      if (!(a.number("eps") > 0)) fail(FormatErrc::bad_graph, a.where() + ": eps must be > 0");
    } else if (kind == "layer_norm") {
      check_roles(weights, src + ": " + where, {"gamma", "beta"});
      const TensorInfo& gamma = weight_tensor(file, weights, where, "gamma", DType::f32, {});
      if (gamma.dims.size() != 1 || gamma.dims[0] == 0)
        fail(FormatErrc::bad_weight, src + ": " + where + ": gamma must have rank 1 and at least 1 element");
      weight_tensor(file, weights, where, "beta", DType::f32, gamma.dims);
      if (!(a.number("eps") > 0)) fail(FormatErrc::bad_graph, a.where() + ": eps must be > 0");
    } else {
      check_roles(weights, src + ": " + where, {});
      if (kind == "quantize" || kind == "dequantize") {
        const QuantAttrs q = check_quant_attrs(a, "scale", "zero_point");
        if (kind == "quantize") quantized[outs[0]] = {name, q};
      }
      if (kind == "attention") {
        a.integer("heads", 1, 4096);
        a.integer("head_size", 1, 1 << 16);
      }
      if (kind == "rotary") {
        a.integer("heads", 1, 4096);
        if (a.integer("head_size", 2, 1 << 16) % 2 != 0) fail(FormatErrc::bad_graph, a.where() + ": head_size must be even");
        if (!(a.number("theta") > 0)) fail(FormatErrc::bad_graph, a.where() + ": theta must be > 0");
      }
      if (kind == "causal_attention") {
        const auto heads = a.integer("heads", 1, 4096), kv_heads = a.integer("kv_heads", 1, 4096);
        a.integer("head_size", 1, 1 << 16);
        if (heads % kv_heads != 0)
          fail(FormatErrc::bad_graph, a.where() + ": heads " + std::to_string(heads) + " is not a multiple of kv_heads " +
                                          std::to_string(kv_heads));
      }
      if (kind == "pooling") {
        const std::string mode = a.str("mode");
        if (mode == "max") {
          a.ints("kernel", 2, 1, 1024);
          a.ints("stride", 2, 1, 1024);
          if (a.has("padding")) a.ints("padding", 2, 0, 512);
        } else if (mode != "global_avg" && mode != "first_token") {
          fail(FormatErrc::bad_graph, a.where() + ": pooling mode must be max, global_avg or first_token");
        }
      }
      if (kind == "flatten") a.integer("start_dim", 1, kMaxRank - 1);
    }
  }
  const json& outputs = g.get("outputs");
  if (!outputs.is_array() || outputs.empty()) fail(FormatErrc::bad_graph, src + ": \"outputs\" must be a non-empty array");
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Fields out(outputs[i], src + ": outputs[" + std::to_string(i) + "]");
    if (!defined.count(out.str("name"))) fail(FormatErrc::bad_graph, out.where() + ": '" + out.str("name") + "' is not produced by any op");
  }
  read_input_normalization(graph, file.source());
}

}  // namespace sparrow::format

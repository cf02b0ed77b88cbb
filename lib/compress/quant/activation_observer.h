#pragma once
// Moving-average min/max of the tensors entering a quantized layer
// (DESIGN.md): the first batch sets [lo, hi], later ones move them by
// c = 0.01 towards each batch's min and max, until frozen.
namespace sparrow::compress {

class ActivationObserver {
 public:
  static constexpr float kMomentum = 0.01f;

  void observe(float batch_min, float batch_max);
  void set(float lo, float hi);
  void freeze() { frozen_ = true; }
  bool frozen() const { return frozen_; }
  bool initialized() const { return initialized_; }
  float lo() const { return lo_; }
  float hi() const { return hi_; }

 private:
  float lo_ = 0.0f;
  float hi_ = 0.0f;
  bool initialized_ = false;
  bool frozen_ = false;
};

}  // namespace sparrow::compress

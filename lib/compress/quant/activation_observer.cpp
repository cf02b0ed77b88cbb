#include "compress/quant/activation_observer.h"

namespace sparrow::compress {

void ActivationObserver::observe(float batch_min, float batch_max) {
  if (frozen_) return;
  if (!initialized_) {
    set(batch_min, batch_max);
    return;
  }
  lo_ += kMomentum * (batch_min - lo_);
  hi_ += kMomentum * (batch_max - hi_);
}

void ActivationObserver::set(float lo, float hi) {
  lo_ = lo;
  hi_ = hi;
  initialized_ = true;
}

}  // namespace sparrow::compress

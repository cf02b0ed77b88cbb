#pragma once
// !EpochRangeModifier: sets the training length; it changes nothing itself.
#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class EpochRangeModifier : public Modifier {
 public:
  explicit EpochRangeModifier(const recipe::EpochRangeParams& p)
      : Modifier("EpochRangeModifier", p.start_epoch, p.end_epoch, -1.0) {}
};

}  // namespace sparrow::compress

#include "schema/value_type.h"

namespace basalt::schema {

event::ValueType value_type_of(PropertyType t) {
  using P = PropertyType;
  using V = event::ValueType;
  switch (t) {
    case P::kString:
      return V::kString;
    case P::kInt:
      return V::kInt;
    case P::kFloat:
      return V::kFloat;
    case P::kBool:
      return V::kBool;
    case P::kTimestamp:
      return V::kTimestamp;
    case P::kStringList:
      return V::kStringList;
    case P::kJson:
      return V::kJson;
  }
  return V::kJson;
}

}  // namespace basalt::schema

#pragma once
// How a declared property or attribute type is carried in an event record's typed values
// (event/event.h): the one mapping the ingest parser and the warehouse share.

#include "event/event.h"
#include "schema/tracking_plan.h"

namespace basalt::schema {

event::ValueType value_type_of(PropertyType type);

}  // namespace basalt::schema

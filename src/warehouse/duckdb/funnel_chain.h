#pragma once
// The scalar function `basalt_funnel_chain(l BIGINT[], first BIGINT, deadline BIGINT,
// steps INTEGER) → BIGINT[]`, which the metrics layer's funnels call on DuckDB
// (semantic/duckdb_dialect.cc). Private to warehouse/duckdb.
//
// Its values are tagged instants: microseconds since the epoch times 32, plus a tag; step k of
// a funnel has tag 32 - k (semantic::kInstantTags and the compiler's step tags). `l` holds one
// user's tagged step times (any order), `first` the user's first step time, `deadline` the last
// tagged value inside the conversion window. The result is the greedy chain [first, t2, …, tm]:
// each tk the smallest element of `l` with step k's tag and t(k-1) < tk <= deadline; it ends
// at the first step no element reaches or at step `steps`. NULL when `first` is NULL; NULL
// elements of `l` are skipped, and a NULL `l` or `deadline` reaches no later step.
//
// It replaces one list pass per step (a lambda filter and a minimum, each a copy of the list):
// one sorted copy of the list, walked once (bench/README.md, "Semantic layer queries").

#include <duckdb.h>

#include "common/status.h"

namespace basalt::warehouse::duck {

// Registers basalt_funnel_chain in the database of `conn` (its system catalogue: every
// connection of the database sees it).
Status register_funnel_chain(duckdb_connection conn);

}  // namespace basalt::warehouse::duck

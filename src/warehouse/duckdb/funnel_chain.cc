#include "warehouse/duckdb/funnel_chain.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "warehouse/duckdb/duckdb_handles.h"

namespace basalt::warehouse::duck {
namespace {

constexpr int64_t kTags = 32;

bool valid(const uint64_t* validity, idx_t row) {
  return validity == nullptr || ((validity[row / 64] >> (row % 64)) & 1) != 0;
}

// The tag of a tagged instant (the floor remainder, also before the epoch).
int64_t tag_of(int64_t x) { return x & (kTags - 1); }

// The chain from `first` over the sorted tagged instants `sorted`, into `chain` (emptied first).
void walk(const std::vector<int64_t>& sorted, int64_t first, int64_t deadline, int64_t steps,
          std::vector<int64_t>& chain) {
  chain.assign(1, first);
  int64_t prev = first;
  auto it = std::upper_bound(sorted.begin(), sorted.end(), prev);
  for (int64_t k = 2; k <= steps; ++k) {
    // Everything from `it` on is > prev: the first element with step k's tag is its time.
    it = std::find_if(it, sorted.end(),
                      [&](int64_t x) { return x > deadline || tag_of(x) == kTags - k; });
    if (it == sorted.end() || *it > deadline) return;
    prev = *it;
    chain.push_back(prev);
    it = std::upper_bound(it, sorted.end(), prev);
  }
}

void chain_function(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
  const idx_t n = duckdb_data_chunk_get_size(input);
  duckdb_vector lv = duckdb_data_chunk_get_vector(input, 0);
  duckdb_vector fv = duckdb_data_chunk_get_vector(input, 1);
  duckdb_vector dv = duckdb_data_chunk_get_vector(input, 2);
  duckdb_vector sv = duckdb_data_chunk_get_vector(input, 3);
  const auto* lists = static_cast<const duckdb_list_entry*>(duckdb_vector_get_data(lv));
  duckdb_vector child = duckdb_list_vector_get_child(lv);
  const auto* elems = static_cast<const int64_t*>(duckdb_vector_get_data(child));
  const uint64_t* elem_valid = duckdb_vector_get_validity(child);
  const auto* first = static_cast<const int64_t*>(duckdb_vector_get_data(fv));
  const auto* deadline = static_cast<const int64_t*>(duckdb_vector_get_data(dv));
  const auto* steps = static_cast<const int32_t*>(duckdb_vector_get_data(sv));
  const uint64_t* l_valid = duckdb_vector_get_validity(lv);
  const uint64_t* f_valid = duckdb_vector_get_validity(fv);
  const uint64_t* d_valid = duckdb_vector_get_validity(dv);
  const uint64_t* s_valid = duckdb_vector_get_validity(sv);

  std::vector<int64_t> sorted, chain;
  for (idx_t i = 0; i < n; ++i) {
    if (!valid(s_valid, i) || steps[i] < 1 || steps[i] >= kTags) {
      duckdb_scalar_function_set_error(info, "basalt_funnel_chain: steps must be 1 to 31");
      return;
    }
    if (!valid(f_valid, i)) {
      duckdb_vector_ensure_validity_writable(output);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(output), i);
      continue;
    }
    sorted.clear();
    if (valid(l_valid, i) && valid(d_valid, i)) {
      const duckdb_list_entry e = lists[i];
      for (uint64_t j = e.offset; j < e.offset + e.length; ++j) {
        if (valid(elem_valid, j)) sorted.push_back(elems[j]);
      }
      std::sort(sorted.begin(), sorted.end());
    }
    walk(sorted, first[i], valid(d_valid, i) ? deadline[i] : first[i], steps[i], chain);
    const idx_t at = duckdb_list_vector_get_size(output);
    duckdb_list_vector_reserve(output, at + chain.size());
    auto* values =
        static_cast<int64_t*>(duckdb_vector_get_data(duckdb_list_vector_get_child(output)));
    std::copy(chain.begin(), chain.end(), values + at);
    duckdb_list_vector_set_size(output, at + chain.size());
    static_cast<duckdb_list_entry*>(duckdb_vector_get_data(output))[i] = {at, chain.size()};
  }
}

}  // namespace

Status register_funnel_chain(duckdb_connection conn) {
  duckdb_scalar_function f = duckdb_create_scalar_function();
  duckdb_scalar_function_set_name(f, "basalt_funnel_chain");
  LogicalType bigint(duckdb_create_logical_type(DUCKDB_TYPE_BIGINT));
  LogicalType integer(duckdb_create_logical_type(DUCKDB_TYPE_INTEGER));
  LogicalType list(duckdb_create_list_type(bigint.get()));
  duckdb_scalar_function_add_parameter(f, list.get());
  duckdb_scalar_function_add_parameter(f, bigint.get());
  duckdb_scalar_function_add_parameter(f, bigint.get());
  duckdb_scalar_function_add_parameter(f, integer.get());
  duckdb_scalar_function_set_return_type(f, list.get());
  // NULL arguments are handled above (a NULL list still gives [first]), not by the engine's
  // default rule (any NULL argument, a NULL result).
  duckdb_scalar_function_set_special_handling(f);
  duckdb_scalar_function_set_function(f, chain_function);
  const duckdb_state registered = duckdb_register_scalar_function(conn, f);
  duckdb_destroy_scalar_function(&f);
  if (registered == DuckDBError) {
    return internal_error("cannot register basalt_funnel_chain in DuckDB");
  }
  return Status::ok();
}

}  // namespace basalt::warehouse::duck

# The two commands of the README, and what they stand on.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
LAUNCHER := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_DIR ?= $(CURDIR)/$(BUILD)/.ccache

.PHONY: setup build run test asan fuzz tidy clean

setup:
	scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(LAUNCHER) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/basalt up examples/demo --data data --seed-demo

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

# The same tests on a Debug build with AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DBASALT_SANITIZE=ON"

clean:
	rm -rf $(BUILD) build-asan

# libFuzzer builds of the fuzz targets (clang); run one with e.g.
#   build-fuzz/tests/fuzz/ingest_parser_fuzz tests/fuzz/corpus/ingest_parser -max_total_time=60
fuzz: setup
	CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBASALT_FUZZ=ON $(LAUNCHER) >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target ingest_parser_fuzz event_record_fuzz wal_recovery_fuzz project_config_fuzz dag_yaml_fuzz tracking_plan_fuzz query_json_fuzz

# clang-tidy with the checks of .clang-tidy over every source file (uses the Release build's
# compile_commands.json).
tidy: build
	run-clang-tidy -quiet -p $(BUILD) 'src/.*\.cc$$'

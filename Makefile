# ecc — top-level build. `make demo` and `make test` work on a fresh Debian
# machine as root: both run `make deps` first, which installs what is missing.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Wshadow -Werror -Wno-missing-field-initializers
DEFS    := -D_GNU_SOURCE
# No code reads the floating-point exception flags, so the compiler may
# evaluate both sides of a float select: clamps and NaN checks vectorize.
FPFLAGS := -fno-trapping-math
INCS    := -Icompress -Isweep -I$(BUILD)/gen
ALL_CFLAGS = $(WARN) $(DEFS) $(FPFLAGS) $(CFLAGS) $(SAN) -fPIC $(INCS)
LDLIBS  := -lprotobuf-c -lcjson -lzstd -lmd -llapacke -lopenblas -lz -lpng -ljpeg -lm -ldl -lpthread
PREFIX  ?= /usr/local

ONNX_PROTO := /usr/include/onnx/onnx.proto
GEN_C   := $(BUILD)/gen/onnx.pb-c.c
GEN_H   := $(BUILD)/gen/onnx.pb-c.h

LIB_DIRS := compress formats/onnx formats/artifact passes calibrate calibrate/train sweep
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/onnx.pb-c.o
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))
PLUGIN_SRC := $(wildcard plugins/*.c)
PLUGINS  := $(patsubst plugins/%.c,$(BUILD)/plugins/%.so,$(PLUGIN_SRC))
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_PLUGIN_SRC := $(wildcard tests/plugins/*.c)
TEST_PLUGINS := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(TEST_PLUGIN_SRC))
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOLS    := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/*.c)
FUZZERS  := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCHES  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps test test-only asan demo install clean check-deps-rule bench fuzz
all: $(BUILD)/ecc $(BUILD)/libecc.a $(BUILD)/libecc.so $(PLUGINS)

deps:
	@sh tools/deps.sh

$(GEN_C) $(GEN_H): $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen --proto_path=$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(BUILD)/obj/gen/onnx.pb-c.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libecc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libecc.so: $(LIB_OBJ)
	$(CC) -shared $(SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/ecc: $(CLI_OBJ) $(BUILD)/libecc.a
	$(CC) $(SAN) -rdynamic -o $@ $(CLI_OBJ) $(BUILD)/libecc.a $(LDLIBS)

$(BUILD)/plugins/%.so: plugins/%.c compress/ecc_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(SAN) -fPIC -shared -Icompress -o $@ $<

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c compress/ecc_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(SAN) -fPIC -shared -Icompress -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libecc.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -Iformats/onnx -Ipasses -Icalibrate -o $@ $< $(BUILD)/libecc.a $(LDLIBS) -lcmocka

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(BUILD)/libecc.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -Iformats/onnx -o $@ $< $(BUILD)/libecc.a $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libecc.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -Iformats/onnx -Ipasses -o $@ $< $(BUILD)/libecc.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libecc.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libecc.a $(LDLIBS)

# The suite: unit tests, CLI tests, bad-input corpus, round trips, interop.
test: deps
	@$(MAKE) --no-print-directory test-only

test-only: all $(TESTS) $(TEST_PLUGINS) $(TOOLS) $(FUZZERS)
	@BUILD=$(BUILD) sh tests/run.sh

# Same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@ECC_SANITIZED=1 $(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  test-only

# libFuzzer (clang): the library instrumented for coverage + ASan/UBSan in
# $(FUZZ_BUILD), every tests/fuzz/*.c harness run FUZZ_SECONDS on its seeds
# (tests/fuzz/libfuzzer.sh). `make test` replays the same seeds without clang.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz: deps
	@command -v clang >/dev/null 2>&1 || { echo "make fuzz: needs clang (apt-get install clang)"; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
	  SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(FUZZ_BUILD)/libecc.a
	@BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) SAN="$(FUZZ_SAN)" LDLIBS="$(LDLIBS)" \
	  sh tests/fuzz/libfuzzer.sh

demo: deps all
	@sh tools/demo.sh $(BUILD)

bench: deps all $(BENCHES)
	@for b in $(BENCHES); do $$b || exit 1; done
	@for b in bench/*.sh; do BUILD=$(BUILD) sh $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/ecc
	install -m 755 $(BUILD)/ecc $(DESTDIR)$(PREFIX)/bin/ecc
	install -m 644 $(BUILD)/libecc.a $(DESTDIR)$(PREFIX)/lib/libecc.a
	install -m 755 $(BUILD)/libecc.so $(DESTDIR)$(PREFIX)/lib/libecc.so
	install -m 644 compress/ecc.h compress/ecc_plugin.h $(DESTDIR)$(PREFIX)/include/ecc/

# The dependency rule between folders (README), checked in CI.
check-deps-rule:
	@sh tools/check_deps_rule.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj $(BUILD)/tests $(BUILD)/bench -name '*.d' 2>/dev/null)

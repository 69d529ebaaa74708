# finerank — one Makefile. Dependencies come from Debian -dev packages via pkg-config
# (scripts/install-deps.sh installs them). Sources are picked up by wildcard so that a new
# module is a new file, not a Makefile edit.
#
#   make                      build/finerank (the CLI) and build/libfinerank.a
#   make check                build and run every test and fuzz-corpus replay
#   make SANITIZE=address,undefined check    the same under ASan+UBSan
#   make fuzz                 libFuzzer binaries (clang) in build/fuzz/
#   make WERROR=1 ...         warnings are errors (CI)

CC       ?= cc
PKGS     := jansson libutf8proc libpcre2-8 openblas libcurl libmicrohttpd libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lstemmer -lz
ARCH     ?= -march=x86-64-v3
OPT      ?= -O2
CFLAGS   += -std=c11 $(OPT) $(ARCH) -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lm -lpthread
ifdef WERROR
CFLAGS   += -Werror
endif

BUILD    := build
ifdef SANITIZE
BUILD    := build-san
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
OPT      := -O1
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/%,$(LIB_SRC))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
REPLAYS  := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/replay_%)
LIB      := $(BUILD)/libfinerank.a

all: $(BUILD)/finerank

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/finerank: $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/test.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# Replay binaries: the libFuzzer entry point plus fuzz/replay_main.c, no libFuzzer needed.
$(BUILD)/fuzz/replay_%: fuzz/%.c fuzz/replay_main.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< fuzz/replay_main.c $(LIB) $(LDLIBS) -o $@

tests: $(TESTS) $(REPLAYS) $(BUILD)/finerank

check: tests
	@FR_BUILD=$(BUILD) sh tests/run.sh $(TESTS) -- $(REPLAYS)

# libFuzzer builds (clang): make fuzz, then e.g. build/fuzz/fuzz_tokenizer_json fuzz/corpus/tokenizer_json
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
fuzz: $(FUZZ_BIN)
build/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -O1 -g -march=x86-64-v3 -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(LIB_SRC) $(LDLIBS) -o $@

bench: $(BUILD)/finerank
	@echo "see bench/README.md"

clean:
	rm -rf build build-san

# The bundled demo: index data/sample, run explained queries through every pipeline stage,
# then a short tokenizer demo (scripts/demo.sh; FR_DEMO_MODEL=DIR uses a cross-encoder).
demo: $(BUILD)/finerank
	@sh scripts/demo.sh

# Tokenizer speed vs the Hugging Face Rust library (bench/tokenize/run.sh).
bench-tokenize: build/bench/tokenize
	@sh bench/tokenize/run.sh
build/bench/tokenize: bench/tokenize/bench_tokenize.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# End-to-end pipeline latency by stage (bench/pipeline/run.sh).
bench-pipeline: build/bench/pipeline build/finerank
	@sh bench/pipeline/run.sh
build/bench/pipeline: bench/pipeline/bench_pipeline.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

.PHONY: all check tests fuzz bench clean demo bench-tokenize bench-pipeline
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# sensorpipe: one Makefile for the whole tree; settings live in config.mk.
#
#   make            build every program into $(BUILD)/bin
#   make check      install missing packages, build, run unit and integration tests
#   make unit       unit tests only (CUnit, no network)
#   make asan       the same tests with AddressSanitizer + UBSan (build-asan/)
#   make valgrind   unit tests under memcheck; any error or leak fails
#   make install    PREFIX=/usr/local DESTDIR=
#   make demo       start a demo pipeline (see README)
#   make docs       regenerate docs/configuration.md from common/config_keys.h
include config.mk

BUILD ?= build
BIN = $(BUILD)/bin

# A program is a directory with a main.c; everything else in it is a module
# that the unit tests may link too.
PROGS := $(patsubst %/main.c,%,$(wildcard */main.c))
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
STAGE_MOD_SRC := $(filter-out %/main.c,$(foreach p,$(PROGS),$(wildcard $(p)/*.c)))
STAGE_MOD_OBJ := $(STAGE_MOD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BIN)/%,$(BENCH_SRC))
LIB = $(BUILD)/libsensorpipe.a

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) $(PKGS_TEST) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
PKG_TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS_TEST) 2>/dev/null)

ALL_CFLAGS = $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(CFLAGS) $(CFLAGS_WARN) $(EXTRA_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS) -Wl,--as-needed
LDLIBS_ALL = $(LIB) $(PKG_LIBS) $(PAHO_LIBS) -lpthread -lm

all: $(PROGS:%=$(BIN)/%) $(BENCH_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

define PROG_RULE
$(BIN)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(LDLIBS_ALL)
endef
$(foreach p,$(PROGS),$(eval $(call PROG_RULE,$(p))))

$(BENCH_BIN): $(BIN)/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LDLIBS_ALL)

# The unit runner calls every `test_<module>_suite()` found in tests/unit.
$(BUILD)/suites.h: $(UNIT_SRC)
	@mkdir -p $(@D)
	sed -n 's/^\(test_[a-z0-9_]*_suite\)(void)$$/SUITE(\1)/p' $(UNIT_SRC) >$@.tmp
	mv $@.tmp $@

$(BUILD)/tests/unit/run_unit.o: $(BUILD)/suites.h
$(BUILD)/tests/unit/%.o: ALL_CFLAGS += -I$(BUILD) -Wno-missing-prototypes

$(BIN)/run_unit: $(UNIT_OBJ) $(STAGE_MOD_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(UNIT_OBJ) $(STAGE_MOD_OBJ) $(LDLIBS_ALL) $(PKG_TEST_LIBS)

deps:
	@scripts/install-deps --check 2>/dev/null || scripts/install-deps

unit: $(BIN)/run_unit
	cd tests/unit && $(VALGRIND_CMD) ../../$(BIN)/run_unit

integration: all
	SP_BIN=$(abspath $(BIN)) SP_ROOT=$(CURDIR) tests/integration/run $(T)

# `make check` first makes sure the packages are there (cheap when they are),
# then builds and runs every test. T=t0100 limits the integration tests.
check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(BIN)/run_unit
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

VALGRIND_CMD =
valgrind:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $(BIN)/run_unit
	@$(MAKE) --no-print-directory unit VALGRIND_CMD="valgrind -q \
		--leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 --suppressions=$(CURDIR)/tests/valgrind.supp"

ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	@$(MAKE) --no-print-directory deps
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(MAKE) --no-print-directory check BUILD=build-asan OPT=-O1 \
		EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="$(ASAN_FLAGS)"

# Coverage-guided fuzzing of the parsers that see untrusted input
# (tests/fuzz/README.md). Not part of `make check`: `make fuzz` builds every
# tests/fuzz/fuzz_<name>.c with clang's libFuzzer and runs each in turn for
# FUZZ_SECONDS; FUZZ=name limits it to one target. New inputs go to
# build/fuzz/corpus/<name>, crashes to build/fuzz/crash-<name>-*.
FUZZ_BUILD = $(BUILD)/fuzz
FUZZ_CC = clang
FUZZ_SECONDS ?= 60
FUZZ ?=
FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(CPPFLAGS_ALL) $(PROGS:%=-I%) $(PKG_CFLAGS) -g -O1 \
	-fno-omit-frame-pointer $(filter-out -Werror,$(CFLAGS_WARN)) -MMD -MP
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB_OBJ := $(COMMON_SRC:%.c=$(FUZZ_BUILD)/%.o) \
	$(STAGE_MOD_SRC:%.c=$(FUZZ_BUILD)/%.o)
# -max_len per target (default 4096).
FUZZ_MAXLEN_rfc3339 = 64
FUZZ_MAXLEN_ndjson = 8192
FUZZ_MAXLEN_config = 2048

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined -c -o $@ $<

$(FUZZ_BUILD)/libfuzzsp.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libfuzzsp.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_BUILD)/libfuzzsp.a \
		$(PKG_LIBS) $(PKG_TEST_LIBS) $(PAHO_LIBS) -lpthread -lm

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@$(foreach n,$(or $(FUZZ),$(FUZZ_NAMES)),\
		mkdir -p $(FUZZ_BUILD)/corpus/$(n) && \
		echo "fuzz_$(n): $(FUZZ_SECONDS) s" && \
		nice -n 10 $(FUZZ_BUILD)/fuzz_$(n) \
			-max_total_time=$(FUZZ_SECONDS) \
			-max_len=$(or $(FUZZ_MAXLEN_$(n)),4096) \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$(n)- \
			$(FUZZ_BUILD)/corpus/$(n) tests/fuzz/corpus/$(n) &&) true

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGS:%=$(BIN)/%) $(DESTDIR)$(BINDIR)/
	install -m 0755 scripts/sensorpipe $(DESTDIR)$(BINDIR)/sensorpipe 2>/dev/null || true

# docs/configuration.md and etc/sensorpipe.env.example are generated from
# common/config_keys.h; a unit test fails when either is stale.
docs: $(BIN)/run_unit
	@mkdir -p docs
	$(BIN)/run_unit --keys-markdown >docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md
	$(BIN)/run_unit --env-example >etc/sensorpipe.env.example.tmp
	mv etc/sensorpipe.env.example.tmp etc/sensorpipe.env.example

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	scripts/demo start

demo-stop:
	scripts/demo stop

clean:
	rm -rf build build-asan

.PHONY: all deps unit integration check valgrind asan install demo demo-stop clean docs \
	fuzz fuzz-build
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)


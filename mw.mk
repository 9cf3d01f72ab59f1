# The APR-only layer (mw_*.c) as a static library, libmw.a, for the
# programs that drive it without httpd: the unit tests (tests/), the fuzz
# harnesses (tests/fuzz/) and the bench programs (bench/). Each of their
# Makefiles includes this file. The sources are config.m4's mw_*.lo, the
# module's own list: a new mw_*.c is named there and nowhere else.
#
#   $(eval $(call mw_lib,DIR,COMPILE))
#
# makes DIR/libmw.a from objects compiled with COMPILE (a compiler and its
# flags). The objects of a sanitized or instrumented program must be built
# as it is: one DIR per set of flags.

MW_TOP     := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
MW_SRCS    := $(patsubst %.lo,%.c,$(filter mw_%.lo,$(shell sed -n \
                's/^memwatch_objects="\(.*\)"/\1/p' $(MW_TOP)/config.m4)))
MW_HDRS    := $(wildcard $(MW_TOP)/mw_*.h)

APR_CONFIG ?= apr-1-config
APR_CFLAGS := $(shell $(APR_CONFIG) --cflags --cppflags --includes)
APR_LIBS   := $(shell $(APR_CONFIG) --link-ld)
# As the module builds.
WARN       := -Wall -Wextra -Wno-unused-parameter

define mw_lib
$(1)/libmw.a: $(MW_SRCS:%.c=$(1)/%.o) $(MW_TOP)/config.m4
	@rm -f $$@
	$$(AR) rcs $$@ $$(filter %.o,$$^)

$(1)/%.o: $(MW_TOP)/%.c $(MW_HDRS) $(MAKEFILE_LIST)
	@mkdir -p $$(@D)
	$(2) $$(WARN) $$(APR_CFLAGS) -I$(MW_TOP) -c -o $$@ $$<
endef

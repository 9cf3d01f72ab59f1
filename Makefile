# Out-of-tree build with apxs. In httpd's source tree this file is replaced
# by the one configure generates from Makefile.in; both take the object
# list from config.m4.
#
#   make              build .libs/mod_memwatch.so
#   make install      install it with apxs -i
#   make test         unit tests, then the Apache::Test suite on all MPMs
#   make unit         C unit tests only
#   make fuzz         every libFuzzer harness for FUZZ_SECONDS (default 60)
#   make demo         install what is missing, build, start a demo httpd
#   make demo-stop    stop it
#   make bench        throughput with and without the module
#   make deb          the Debian package, into build/deb/ (DEB_OUT=dir)
#   make clean

APXS     ?= apxs
OBJECTS  := $(shell sed -n 's/^memwatch_objects="\(.*\)"/\1/p' config.m4)
SOURCES  := $(OBJECTS:.lo=.c)
HEADERS  := $(wildcard *.h)
# The version has one source: the first line of debian/changelog.
VERSION  := $(shell head -n1 debian/changelog | cut -d'(' -f2 | cut -d')' -f1 | cut -d- -f1)
WARN     := -Wall -Wextra -Wno-unused-parameter
# Only the module record is exported (MW_EXPORTED): calls between the
# module's files are then direct, not through the PLT.
HIDDEN   := -fvisibility=hidden
# Extra compiler flags, and extra libraries for apxs (-lNAME): the UBSan
# pass of make test builds with CFLAGS_X=-fsanitize=undefined
# LIBS_X=-lubsan.
CFLAGS_X ?=
LIBS_X ?=

all: .libs/mod_memwatch.so

.libs/mod_memwatch.so: $(SOURCES) $(HEADERS) config.m4 debian/changelog
	$(APXS) -c -Wc,"$(WARN) $(HIDDEN) $(CFLAGS_X)" \
	    -DMEMWATCH_VERSION='\"$(VERSION)\"' $(LIBS_X) \
	    -o mod_memwatch.la $(SOURCES)

install: all
	$(APXS) -i -n memwatch mod_memwatch.la

unit:
	$(MAKE) -C tests run

FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

fuzz-smoke:
	$(MAKE) -C tests/fuzz smoke

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

demo-stop:
	bash scripts/demo.sh stop

bench:
	bash scripts/bench.sh

# dpkg-buildpackage in a copy of the tree, so the build litters nothing
# here; the .deb, .changes and .buildinfo land in $(DEB_OUT).
DEB_OUT ?= build/deb
deb:
	rm -rf $(DEB_OUT)/src
	mkdir -p $(DEB_OUT)/src
	tar --exclude=./.git --exclude=./build --exclude=./test-output \
	    --exclude=./bench-output --exclude=./demo-run --exclude=./t/servers \
	    -cf - . | tar -xf - -C $(DEB_OUT)/src
	$(MAKE) -C $(DEB_OUT)/src clean >/dev/null
	cd $(DEB_OUT)/src && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_OUT)/src
	@ls $(DEB_OUT)/*.deb

clean:
	rm -rf .libs *.la *.lo *.slo *.o
	$(MAKE) -C tests clean
	$(MAKE) -C tests/fuzz clean

.PHONY: all install unit fuzz fuzz-smoke test demo demo-stop bench deb clean

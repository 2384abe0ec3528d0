# dm-aurora: top-level build, test and demo entry points.
#
#   make            module for the running (or newest installed) kernel + agent
#   make demo       the main job end to end in a QEMU guest (embedded KMS)
#   make check      deps, build, host tests, guest suites on 6.1 and 6.12, the
#                   target's tests on the debug kernel (debug-6.12: KASAN,
#                   lockdep, kmemleak...; built in the background, then cached)
#   make check-debug   the debug lane only: debug kernel (cached), the whole
#                   suite on it
#   make vm-test KVER=6.1|6.12|debug-6.12 [T=pattern]   one guest suite (or one test)
#   make vm-shell KVER=6.1|6.12              an interactive shell in the guest
#   make modules-all   dm-aurora for every supported kernel (W=1)
#   make lint       checkpatch --strict on kernel/, cppcheck on agent/
#   make boot-test  real boot (systemd, udev) of an installed Debian 12 guest
#   make bench      benchmarks (dm-aurora vs dm-crypt vs the cipher)
#   make install    agent, units and module (DESTDIR, PREFIX)

KVERS	?= 6.1 6.12
KVER	?= 6.1
T	?=
RESULTS	:= $(CURDIR)/build/results
PREFIX	?= /usr
DESTDIR	?=

.PHONY: all deps kernel agent modules-all lint check check-debug check-host check-guest \
	vm-test vm-shell boot-test demo bench bench-profile install clean

all: kernel agent

deps:
	@./scripts/deps

kernel:
	$(MAKE) -C kernel

agent:
	@if [ -f agent/Makefile ]; then $(MAKE) -C agent all; fi

# Build dm-aurora against each supported kernel's headers with W=1, each in
# its own copy of the sources (build/kmod/<kver>).  KVERS may name the debug
# kernel (debug-6.12) once scripts/debug-kernel has built it.
modules-all:
	@set -e; for k in $(KVERS); do \
		kv=$$(./scripts/kver $$k); kd=$$(./scripts/kver --kdir $$k); d=build/kmod/$$kv; \
		rm -rf $$d; mkdir -p $$d/kernel $$d/include; \
		cp kernel/*.[ch] kernel/Kbuild kernel/Makefile $$d/kernel/; rm -f $$d/kernel/*.mod.c; \
		cp -r include/. $$d/include/; \
		echo "  KMOD    $$kv (W=1)"; \
		$(MAKE) -s -C $$d/kernel KDIR=$$kd W=1 2>&1 | tee $$d/build.log; \
		if grep -E 'warning:|error:' $$d/build.log; then \
			echo "modules-all: $$kv: warnings or errors above" >&2; exit 1; fi; \
	done

lint:
	@./scripts/lint

vm-test:
	./scripts/vm-run --kver $(KVER) $(if $(T),--tests $(T))

vm-shell:
	./scripts/vm-run --kver $(KVER) --shell

boot-test:
	@./scripts/boot-test --kver 6.12

check:
	@./scripts/check

check-debug:
	@./scripts/check --debug

demo:
	@./scripts/demo

bench:
	@./scripts/bench

bench-profile:
	@./scripts/bench-profile

install:
	@if [ -f agent/Makefile ]; then $(MAKE) -C agent install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX); fi
	@./scripts/install-extras "$(DESTDIR)" "$(PREFIX)"
	$(MAKE) -C kernel install

clean:
	-$(MAKE) -C kernel clean
	-@if [ -f agent/Makefile ]; then $(MAKE) -C agent clean; fi
	rm -rf build

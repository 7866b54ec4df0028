# How `sam build` builds the five Lambda functions (BuildMethod: makefile, in the
# source tree: samconfig.toml sets build_in_source). The first function's target
# builds all five binaries in one cargo invocation into the shared target/
# directory; every target then copies its own binary. Profile `lambda` in
# Cargo.toml; measured in BENCHMARKS.md.
#
#   LAMBDA_ARCH=arm64 sam build   # for Architecture=arm64 (default x86-64)

CARGO_LAMBDA ?= cargo lambda
LAMBDA_ARCH ?= x86-64
PACKAGES := csq-fn-issue-form csq-fn-rating-form csq-fn-complaint-router csq-fn-nightly csq-fn-staff-api

.PHONY: lambdas print-packages
print-packages:
	@echo $(PACKAGES)

# With panic = "abort" unwind tables serve only backtraces: without them each
# function is about 1 MB smaller (BENCHMARKS.md). --target is explicit, so these
# flags reach the functions' code only, not build scripts or the test builds.
lambdas: export RUSTFLAGS = -C force-unwind-tables=no
lambdas:
	$(CARGO_LAMBDA) build --profile lambda --$(LAMBDA_ARCH) $(addprefix -p ,$(PACKAGES))

define function
.PHONY: build-$(1)
build-$(1): lambdas
	cp target/lambda/$(2)/bootstrap "$$(ARTIFACTS_DIR)/bootstrap"
endef

$(eval $(call function,IssueFormFunction,issue-form))
$(eval $(call function,RatingFormFunction,rating-form))
$(eval $(call function,ComplaintRouterFunction,complaint-router))
$(eval $(call function,NightlyFunction,nightly))
$(eval $(call function,StaffApiFunction,staff-api))

# Wheels for the lent device machine (Python 3.12, no network): download them here, install them there.
# Sourced by tools/gpu_check.sh and tools/gpu_train.sh.
device_wheels_download() {   # DIR PKG==VERSION ...: manylinux cp312 wheels, no dependencies (the lists name them all)
  local dir=$1; shift; mkdir -p "$dir"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$dir" "$@"
}
device_wheels_install() {    # DIR: every wheel in it into /tmp/site (the caller puts /tmp/site on PYTHONPATH)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$1"/*.whl
}

#!/usr/bin/env bash
# A self-contained release build of snn: the Swift runtime and Foundation (--static-swift-stdlib),
# jemalloc, zlib and libstdc++/libgcc linked in statically, so the executable needs only the C
# library (libc, libm, ld-linux; `ldd` lists nothing else). Builds in .build-static (its own
# scratch folder: the flags differ from scripts/build.sh's) and prints the executable's path.
#
# How: the package's system-library targets ask for `-ljemalloc` and `-lz`, and the static Swift
# runtime for `-lstdc++`; a folder holding only the static archives (.build-static/static-libs,
# symlinks to the Debian libjemalloc_pic.a, libz.a and GCC's libstdc++.a) comes first on the
# library path, so the linker takes the archives. Needs libjemalloc-dev and zlib1g-dev.
#
#   --fully-static   also the C library (swiftc -static-executable, in .build-static-exe): no
#                    loader, `ldd` says "not a dynamic executable". glibc warns that its NSS
#                    functions (getpwnam, getaddrinfo, …) and dlopen then need the build machine's
#                    glibc at run time; snn calls none of them on its paths.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-static
libs=$scratch/static-libs
fully=0
case ${1:-} in
  --fully-static) fully=1 ;;
  "") ;;
  *) echo "build-static.sh: unknown argument '$1' (only --fully-static)" >&2; exit 2 ;;
esac
mkdir -p "$libs"
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
link() {   # link NAME CANDIDATE…: the first existing archive becomes $libs/NAME
  local name=$1; shift
  for f in "$@"; do if [[ -f $f ]]; then ln -sf "$(readlink -f "$f")" "$libs/$name"; return 0; fi; done
  echo "build-static.sh: no static archive for $name (tried $*): apt-get install libjemalloc-dev zlib1g-dev" >&2; exit 1
}
link libjemalloc.a "/usr/lib/$multiarch/libjemalloc_pic.a" "/usr/lib/$multiarch/libjemalloc.a"
link libz.a "/usr/lib/$multiarch/libz.a"
link libstdc++.a "$(g++ -print-file-name=libstdc++.a 2>/dev/null || gcc -print-file-name=libstdc++.a)"
if [[ $fully == 1 ]]; then
  flags=(-c release --product snn --scratch-path .build-static-exe --static-swift-stdlib -Xswiftc -static-executable
         -Xlinker -L"$PWD/$libs")
else
  flags=(-c release --product snn --scratch-path "$scratch" --static-swift-stdlib
         -Xlinker -L"$PWD/$libs" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc)
fi
swift build "${flags[@]}" >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/snn"

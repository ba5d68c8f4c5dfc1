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
link libjemalloc_pic.a "/usr/lib/$multiarch/libjemalloc_pic.a" "/usr/lib/$multiarch/libjemalloc.a"
# jemalloc as one object on the link line and an empty archive for the package's -ljemalloc: the
# static Swift runtime links with --exclude-libs ALL, which would hide the malloc/free of an
# archive from the dynamic symbol table, so glibc's own allocations (e.g. the environment that
# ProcessInfo copies) would come from glibc's malloc and be freed by jemalloc (a crash). An
# object's symbols are exported (-export-dynamic) and interpose glibc's malloc as the shared
# library does.
# (Without jemalloc's C++ operator new/delete, jemalloc_cpp: libstdc++'s call malloc, i.e. jemalloc.)
if [[ ! -f $libs/jemalloc.o || $libs/libjemalloc_pic.a -nt $libs/jemalloc.o ]]; then
  rm -rf "$libs/jemalloc-objects" && mkdir "$libs/jemalloc-objects"
  (cd "$libs/jemalloc-objects" && ar x "$(readlink -f ../libjemalloc_pic.a)" && rm -f jemalloc_cpp*.o)
  ld -r "$libs"/jemalloc-objects/*.o -o "$libs/jemalloc.o"
  rm -rf "$libs/jemalloc-objects"
fi
if [[ ! -f $libs/libjemalloc.a || -L $libs/libjemalloc.a || $(head -c 8 "$libs/libjemalloc.a") != '!<arch>' ]]; then
  rm -f "$libs/libjemalloc.a"; ar rc "$libs/libjemalloc.a"
  rm -f "$scratch"/*/release/snn .build-static-exe/*/release/snn   # relink with it
fi
if [[ $fully == 1 ]]; then
  flags=(-c release --product snn --scratch-path .build-static-exe --static-swift-stdlib -Xswiftc -static-executable
         -Xlinker -L"$PWD/$libs" -Xlinker "$PWD/$libs/jemalloc.o")
else
  flags=(-c release --product snn --scratch-path "$scratch" --static-swift-stdlib
         -Xlinker -L"$PWD/$libs" -Xlinker "$PWD/$libs/jemalloc.o" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc)
fi
swift build "${flags[@]}" >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/snn"

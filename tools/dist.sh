#!/bin/sh
# dist.sh NAME OUT - write OUT, a gzipped tarball of the source files
# under NAME/, the same bytes for the same sources wherever and whenever
# it is made: members sorted, owned by 0:0, dated from the last commit,
# modes normalised (0644, 0755 for executables), gzip without name or
# time.
#
# The source files are the tracked ones (git ls-files) in a git
# checkout; in an unpacked tarball (no git checkout of its own) every
# file .gitignore does not exclude, which is the same set, dated from
# SOURCE_DATE_EPOCH or the newest of them.
set -eu
name=$1
out=$2
list=$(mktemp)
scratch=$(mktemp -d)
trap 'rm -rf "$list" "$list.raw" "$scratch"' EXIT

if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
	git ls-files >"$list.raw"
	mtime=$(git log -1 --format=%ct)
else
	git init -q "$scratch/git"
	git --git-dir="$scratch/git/.git" --work-tree=. \
		ls-files --others --exclude-standard >"$list.raw"
	mtime=${SOURCE_DATE_EPOCH:-$(tr '\n' '\0' <"$list.raw" |
		xargs -0 stat -c %Y | sort -n | tail -n 1)}
fi
LC_ALL=C sort "$list.raw" >"$list"
rm -f "$list.raw"
[ -s "$list" ] || { echo "dist.sh: no source files found" >&2; exit 1; }

# tar into a file, not a pipe: sh has no pipefail, and a file tar
# cannot read must fail the tarball, not leave it short.
tar --create --format=gnu --no-recursion --verbatim-files-from \
	--files-from="$list" --transform="s|^|$name/|" \
	--owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
	--mode='u+rw,go-w,a+rX' --file="$scratch/dist.tar"
gzip -9n <"$scratch/dist.tar" >"$out.tmp" || { rm -f "$out.tmp"; exit 1; }
mv "$out.tmp" "$out"
echo "dist.sh: $out ($(wc -l <"$list") files)"

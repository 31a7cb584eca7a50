#!/bin/sh
# exports.sh OUT HEADER OBJECT... - the library exports its public API and
# nothing else.
#
# The objects are linked into one relocatable object (what a shared
# build of them would export: hidden symbols made local, as the final
# link of a .so makes them), whose global defined symbols must be exactly
# the functions HEADER declares with PYC_API; and every function HEADER
# declares carries PYC_API, alone on the line above (a declaration
# without it would be hidden).
# Given one shared library (NAME.so*) instead, its dynamic symbol table
# is what it exports.
# `make unit` runs it; it exits non-zero with the difference.
set -eu
out=$1
header=$2
shift 2

status=0
case $# in 1) case $1 in *.so|*.so.*) shared=$1 ;; esac ;; esac
if [ -n "${shared-}" ]; then
	nm -D --defined-only "$shared" | awk '{ print $NF }' |
		sort -u >"$out.exported"
else
	ld -r -o "$out" "$@"
	objcopy --localize-hidden "$out"
	nm -g --defined-only "$out" | awk '{ print $NF }' |
		sort -u >"$out.exported"
fi
# A declaration starts at column 0 and has PYC_API alone on the line
# above it.
awk '/^PYC_API$/ { api = 1; next }
     /^[a-z].*[ *]pyc_[a-z0-9_]+\(/ && !/^(static|typedef) / {
	name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
	print (api ? "api " : "bare ") FNR ": " name
     }
     { api = 0 }' "$header" >"$out.decls"
sed -n 's/^api [0-9]*: //p' "$out.decls" | sort -u >"$out.declared"
bare=$(sed -n 's/^bare //p' "$out.decls")
if [ -n "$bare" ]; then
	echo "exports: declared in $header without PYC_API:" >&2
	echo "$bare" >&2
	status=1
fi
extra=$(comm -23 "$out.exported" "$out.declared")
if [ -n "$extra" ]; then
	echo "exports: exported but not public API:" $extra >&2
	status=1
fi
missing=$(comm -13 "$out.exported" "$out.declared")
if [ -n "$missing" ]; then
	echo "exports: declared PYC_API but not defined:" $missing >&2
	status=1
fi
[ $status -eq 0 ] &&
	echo "exports: $(wc -l <"$out.declared") public functions, nothing else"
exit $status

#!/bin/sh
# Run one fuzz target's replay program over its seed corpus, as make check
# does:  tests/fuzz/replay.sh NAME  (NAME: decode, uri, assuan, buf, hproto).
# Extra arguments (a crash file, say) replace the corpus.
set -e
name=${1:?usage: replay.sh NAME [file ...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
: "${abs_top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${abs_top_builddir:=$abs_top_srcdir}"
prog=$abs_top_builddir/tests/fuzz/replay-$name
if [ $# -eq 0 ]; then
	set -- "$abs_top_srcdir/tests/fuzz/corpus/$name"
fi
# TK_REPLAY_WRAPPER (tests/valgrind.sh, say) runs the program under it.
exec ${TK_REPLAY_WRAPPER:+"$TK_REPLAY_WRAPPER"} "$prog" "$@"

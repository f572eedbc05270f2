#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# LOG_COMPILER for `make check` under valgrind: any memory error or
# definite leak in the test program fails it.
exec valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite "$@"

/* Placeholder until the helper process lands; replaced by src/cmd-helper.c. */
#include "cli.h"

int
helper_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_warnx("__helper: not built yet");
	return 1;
}

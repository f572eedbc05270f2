/* Placeholder until the agent lands; replaced by src/cmd-agent.c. */
#include "cli.h"

int
agent_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_warnx("agent: not built yet");
	return 1;
}

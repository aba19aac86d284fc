// ferryctl [--socket PATH] [--json] COMMAND
#include "cli/cli.h"

int main(int argc, char** argv) { return ferry::cli::run(argc, argv); }

#pragma once

namespace ctq {
// Parses argv, runs the sub-command, maps every error to a message and a non-zero status.
int run_app(int argc, char** argv);
}

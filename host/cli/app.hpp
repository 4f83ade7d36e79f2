#pragma once

namespace ctq {
// Parses argv, runs the sub-command, maps every error to a message and a non-zero status.
int run_app(int argc, char** argv);

// What main returns, given run_app's status. After a successful run that started CUDA it leaves
// at once through _Exit instead (see app.cpp for why); CTQ_CLEAN_EXIT=1 keeps the normal exit.
int leave(int status);
}

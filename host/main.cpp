#include "cli/app.hpp"

int main(int argc, char** argv) { return ctq::run_app(argc, argv); }

/* A core file that includes an edge header. */
#include "daemon/edge/x.h"

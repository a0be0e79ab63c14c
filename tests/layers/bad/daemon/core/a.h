/* A module of the pure core that includes another which includes it back. */
#include "daemon/core/b.h"

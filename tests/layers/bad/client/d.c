/* The client reaching into the daemon. */
#include "daemon/core/a.h"

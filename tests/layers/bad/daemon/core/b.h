/* Closes the cycle with a.h, and includes an I/O library into the pure core. */
#include "daemon/core/a.h"
#include <lmdb.h>

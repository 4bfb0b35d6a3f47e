#ifndef FAMILYCONNECT_CLIBPQ_SHIM_H
#define FAMILYCONNECT_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif

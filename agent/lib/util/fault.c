// SPDX-License-Identifier: GPL-2.0
/* aurora: fault injection (see fault.h). */
#include <stdlib.h>
#include <string.h>

#include "util/fault.h"
#include "util/util.h"

bool aur_fault_requested(const char *step)
{
	const char *f = getenv("AURORA_FAULT");

	if (!f || strcmp(f, step))
		return false;
	aur_warn("AURORA_FAULT: injected failure after step \"%s\"", step);
	return true;
}

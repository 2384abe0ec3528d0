/* temporary */
#include "config/config.h"
#include "config/tab.h"
#include "kms/local/kms_local.h"
#include "volume/keyring.h"
#include "volume/volume.h"
#include "agent/watch.h"
#include "util/secmem.h"

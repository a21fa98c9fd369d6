/*
 * Common definitions shared by every public saorsa-gossip header: the export
 * macro, the version, and the few attributes the API uses.
 */
#ifndef SG_COMMON_H
#define SG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SG_API __attribute__((visibility("default")))
#define SG_NODISCARD __attribute__((warn_unused_result))
#else
#define SG_API
#define SG_NODISCARD
#endif

#define SG_VERSION_MAJOR 0
#define SG_VERSION_MINOR 1
#define SG_VERSION_PATCH 0
#define SG_VERSION_STRING "0.1.0"
/* One number that grows with every release: 0xMMmmpp. */
#define SG_VERSION_NUM                                                         \
	((SG_VERSION_MAJOR << 16) | (SG_VERSION_MINOR << 8) | SG_VERSION_PATCH)

/* The version of the library actually linked, e.g. "0.1.0". */
SG_API const char *sg_version(void);

#endif

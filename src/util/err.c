/*
 * sg_strerror() and sg_errname(): both generated from SG_ERR_TABLE so that a
 * new code needs exactly one line.
 */
#include "sg/err.h"

const char *sg_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define SG_ERR_MSG_(name, value, msg)                                          \
	case name:                                                             \
		return msg;
		SG_ERR_TABLE(SG_ERR_MSG_)
#undef SG_ERR_MSG_
	default:
		return "unknown error";
	}
}

const char *sg_errname(int err)
{
	switch (err) {
	case 0:
		return "SG_OK";
#define SG_ERR_NAME_(name, value, msg)                                         \
	case name:                                                             \
		return #name;
		SG_ERR_TABLE(SG_ERR_NAME_)
#undef SG_ERR_NAME_
	default:
		return "SG_ERR_UNKNOWN";
	}
}

const char *sg_version(void)
{
	return SG_VERSION_STRING;
}

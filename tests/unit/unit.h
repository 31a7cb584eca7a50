/* unit.h - what every cmocka unit test includes. */
#ifndef PYC_UNIT_H
#define PYC_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pycprefix.h"

#endif

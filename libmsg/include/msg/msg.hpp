// msg.hpp - all of libmsg.
#pragma once

#include "msg/address.hpp"
#include "msg/charset.hpp"
#include "msg/codec.hpp"
#include "msg/defect.hpp"
#include "msg/dsn.hpp"
#include "msg/envelope.hpp"
#include "msg/header.hpp"
#include "msg/limits.hpp"
#include "msg/mbox.hpp"
#include "msg/message.hpp"
#include "msg/result.hpp"
#include "msg/rewrite.hpp"
#include "msg/source.hpp"
#include "msg/spool.hpp"
#include "msg/validate.hpp"

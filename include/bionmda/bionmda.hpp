#pragma once
/**
 * @file bionmda.hpp
 * @brief Everything public in one include.
 */
#include "bionmda/backend.hpp"
#include "bionmda/buffer.hpp"
#include "bionmda/checkpoint.hpp"
#include "bionmda/error.hpp"
#include "bionmda/host_memory.hpp"
#include "bionmda/mg_block.hpp"
#include "bionmda/network.hpp"
#include "bionmda/parameters.hpp"
#include "bionmda/population.hpp"
#include "bionmda/postsynaptic.hpp"
#include "bionmda/reference.hpp"
#include "bionmda/span.hpp"
#include "bionmda/spike_input.hpp"
#include "bionmda/state_view.hpp"
#include "bionmda/stream.hpp"
#include "bionmda/version.hpp"
#include "bionmda/window.hpp"

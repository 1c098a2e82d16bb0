#pragma once
/**
 * @file network.hpp
 * @brief The network layer in one include: partitions of neurons over ranks,
 *        spike exchanges, one rank's synapses (projection), the window
 *        schedule and network checkpoints. The MPI transport is
 *        bionmda/mpi.hpp (target bionmda::mpi).
 */
#include "bionmda/network/checkpoint.hpp"
#include "bionmda/network/exchange.hpp"
#include "bionmda/network/partition.hpp"
#include "bionmda/network/projection.hpp"
#include "bionmda/network/spikes.hpp"
#include "bionmda/network/window_loop.hpp"

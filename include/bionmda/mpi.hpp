#pragma once
/**
 * @file mpi.hpp
 * @brief bionmda::mpi in one include (CMake target bionmda::mpi): networks
 *        over MPI ranks, spikes exchanged once per window.
 */
#include "bionmda/mpi/checkpoint.hpp"
#include "bionmda/mpi/communicator.hpp"
#include "bionmda/mpi/exchange.hpp"
#include "bionmda/network.hpp"

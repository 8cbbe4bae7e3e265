// Listener: accepts TCP connections on one socket of one worker.
//
// Worker-local. Each worker binds its own SO_REUSEPORT socket to the same
// address (libuv 1.44 has no UV_TCP_REUSEPORT: we make the socket ourselves
// and adopt it with uv_tcp_open), so the kernel spreads connections across
// workers with no shared accept queue.
//
// pause(): the socket stays bound and listening, so the kernel keeps
// completing handshakes into its backlog; we simply stop taking them. libuv
// accept()s one connection before it calls us; when paused we leave that one
// unclaimed, and libuv stops polling the socket until resume() claims it.
// Nothing is refused or reset while paused; with SO_REUSEPORT the kernel still
// routes this socket's share of new connections to it, so drain by closing
// (destroying) the listener rather than pausing it.
#pragma once

#include <memory>

#include "proxy/net/address.h"
#include "proxy/net/connection.h"
#include "proxy/net/dispatcher.h"
#include "xds/base/status.h"

namespace remora::net {

class ListenerCallbacks {
 public:
  virtual ~ListenerCallbacks() = default;
  // A new connection; the callee takes ownership.
  virtual void onAccept(ConnectionPtr connection) = 0;
};

class Listener {
 public:
  // Binds and listens. With port 0 the kernel picks a port: read it back with
  // localAddress() and bind the other workers' listeners to that port.
  // Errors are kIo with the syscall, address and errno text:
  // "bind 127.0.0.1:80: permission denied". `callbacks` must outlive the listener.
  static base::Result<std::unique_ptr<Listener>> bind(Dispatcher& dispatcher, const Address& address,
                                                      ListenerCallbacks& callbacks, bool reuse_port = true,
                                                      int backlog = 1024);
  // Closes the socket; connections already accepted are unaffected.
  virtual ~Listener() = default;
  virtual const Address& localAddress() const = 0;
  // Stops accepting (draining); the socket stays bound. resume() undoes it.
  virtual void pause() = 0;
  virtual void resume() = 0;
};
using ListenerPtr = std::unique_ptr<Listener>;

// PortReservation: a bound but not listening SO_REUSEPORT socket. The main
// thread takes one for a listener that arrives at runtime (xDS): it resolves
// port 0 to the kernel's choice and catches "address in use" before any worker
// binds, so a bad listener is refused as a whole. Workers then bind their own
// sockets to address(); the reservation is released once they have. A socket
// that never listens is not in the port's reuseport group, so it takes no
// connections.
//
// Any thread; move-only; closes its socket on destruction.
class PortReservation {
 public:
  // Errors are kIo with the syscall, address and errno text, as Listener::bind.
  static base::Result<PortReservation> reserve(const Address& address);
  PortReservation(PortReservation&& other) noexcept : fd_(other.fd_), address_(other.address_) { other.fd_ = -1; }
  PortReservation& operator=(PortReservation&& other) noexcept;
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  ~PortReservation();
  // The address with the port the kernel picked.
  const Address& address() const { return address_; }

 private:
  PortReservation(int fd, Address address) : fd_(fd), address_(address) {}
  int fd_ = -1;
  Address address_;
};

}  // namespace remora::net

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

}  // namespace remora::net

// The Node socket.io peer of the causerie benchmarks (bench/peers.py): rooms and broadcast.
// Events: "join" (a room name, answered with "joined") and "say" ({room, text}, emitted to the
// room as "message"). Usage: node bench/node/server.js PORT
"use strict";
const { createServer } = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 8000);
const http = createServer();
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false });
io.on("connection", (socket) => {
  socket.on("join", (room) => {
    socket.join(room);
    socket.emit("joined", room);
  });
  socket.on("say", (data) => {
    io.to(data.room).emit("message", { room: data.room, text: data.text });
  });
});
http.listen(port, "127.0.0.1");

/*
 * 现场确认 on the PC, through the mini-program's API: the children with a confirmed offer
 * (GET /offers), the admitting school's slots for each (GET /onsite/slots), the family's
 * bookings (GET /onsite/bookings); booking or moving (POST /onsite/bookings) and cancelling
 * (DELETE /onsite/bookings/{id}) after a confirmation on the page; and the entry ticket
 * (GET /onsite/bookings/{id}/ticket) with its QR image from /pc/onsite/bookings/{id}/qr.png
 * and the code to type, printable alone (the print style keeps only the ticket).
 */
(function () {
  'use strict';
  var list = document.getElementById('pc-onsite-list');
  var error = document.getElementById('pc-onsite-error');
  var ticketBox = document.getElementById('pc-entry-ticket');
  var confirmBox = document.getElementById('pc-onsite-confirm');
  var childNames = {}; // registration id → child's name (shown masked)
  var bookedChild = {}; // booking id → child's name
  var answer = null;

  function span(slot) {
    var starts = String(slot.starts_at || '');
    return starts.slice(0, 16).replace('T', ' ') + ' — ' + String(slot.ends_at || '').slice(11, 16);
  }

  /** A question under the card it concerns; resolves true for the first button. */
  function ask(card, title, text, yes) {
    document.getElementById('pc-onsite-confirm-title').textContent = title;
    document.getElementById('pc-onsite-confirm-text').textContent = text;
    document.getElementById('pc-onsite-confirm-yes').textContent = yes;
    card.appendChild(confirmBox);
    confirmBox.hidden = false;
    document.getElementById('pc-onsite-confirm-yes').focus();
    return new Promise(function (resolve) { answer = resolve; });
  }

  function answered(value) {
    confirmBox.hidden = true;
    if (answer) answer(value);
    answer = null;
  }
  document.getElementById('pc-onsite-confirm-yes').addEventListener('click', function () { answered(true); });
  document.getElementById('pc-onsite-confirm-no').addEventListener('click', function () { answered(false); });

  function book(card, offer, slot, booking) {
    var moving = Boolean(booking);
    var text = span(slot) + '　' + slot.place + (moving ? '。改约后，原来的入场凭证作废。' : '');
    return ask(card, moving ? '改约到这个时段' : '预约这个时段', text, '确定预约').then(function (ok) {
      if (!ok) return null;
      PC.say(error, '');
      return PC.api('POST', '/api/v1/onsite/bookings', { registration_id: offer.registration_id, slot_id: slot.id })
        .then(function (made) { return load().then(function () { return showTicket(made.id); }); },
          function (err) { PC.say(error, err.message); return load(); });
    });
  }

  function cancel(card, booking) {
    return ask(card, '取消预约', '取消后名额让给其他家庭，可以重新预约其他时段。确定取消吗？', '确定取消').then(function (ok) {
      if (!ok) return null;
      PC.say(error, '');
      return PC.api('DELETE', '/api/v1/onsite/bookings/' + booking.id).then(load, function (err) {
        PC.say(error, err.message);
      });
    });
  }

  function slotRow(card, offer, slot, booking) {
    var mine = booking && booking.slot.id === slot.id;
    var row = PC.el('li', { class: 'pc-slot', 'data-slot-id': String(slot.id) });
    var text = PC.el('div', { class: 'pc-slot-text' });
    text.appendChild(PC.el('strong', { class: 'pc-slot-time' }, span(slot)));
    text.appendChild(PC.el('div', {}, slot.place));
    if (slot.note) text.appendChild(PC.el('div', { class: 'muted' }, slot.note));
    text.appendChild(PC.el('div', { class: 'pc-slot-places' }, '剩余 ' + slot.available + ' / ' + slot.capacity + ' 个名额'));
    row.appendChild(text);
    var label = mine ? '已预约' : (!slot.available ? '已约满' : (booking ? '改约到这个时段' : '预约'));
    var button = PC.el('button', { type: 'button', class: 'pc-button' }, label);
    button.disabled = Boolean(mine || !slot.available || (booking && booking.checked_in));
    button.addEventListener('click', function () { book(card, offer, slot, booking); });
    row.appendChild(button);
    return row;
  }

  function card(offer, slots, booking) {
    var box = PC.el('article', { class: 'pc-registration pc-onsite-card', 'data-registration-id': String(offer.registration_id) });
    box.appendChild(PC.el('h2', {}, offer.school.name + '　' + PC.mask(childNames[offer.registration_id] || offer.child_name)));
    if (booking) {
      var booked = PC.el('div', { class: 'pc-ticket pc-onsite-booked' });
      booked.appendChild(PC.el('p', { class: 'pc-status' }, booking.checked_in ? '已完成现场确认' : '已预约'));
      booked.appendChild(PC.el('p', {}, span(booking.slot) + '　' + booking.slot.place));
      var actions = PC.el('p', { class: 'pc-actions' });
      var open = PC.el('button', { type: 'button', class: 'pc-button pc-primary' }, '查看并打印入场凭证');
      open.addEventListener('click', function () { showTicket(booking.id); });
      actions.appendChild(open);
      if (!booking.checked_in) {
        var drop = PC.el('button', { type: 'button', class: 'pc-button' }, '取消预约');
        drop.addEventListener('click', function () { cancel(box, booking); });
        actions.appendChild(drop);
      }
      booked.appendChild(actions);
      box.appendChild(booked);
    }
    if (!booking || !booking.checked_in) {
      box.appendChild(PC.el('h3', {}, booking ? '改约其他时段' : '请选择一个时段'));
      if (!slots.length) {
        box.appendChild(PC.el('p', { class: 'muted pc-no-slots' }, '学校还没有开放预约时段，请留意通知。'));
      } else {
        var rows = PC.el('ul', { class: 'pc-list pc-slots' });
        slots.forEach(function (slot) { rows.appendChild(slotRow(box, offer, slot, booking)); });
        box.appendChild(rows);
      }
    }
    return box;
  }

  function load() {
    return Promise.all([PC.api('GET', '/api/v1/offers'), PC.api('GET', '/api/v1/onsite/bookings')]).then(function (found) {
      var admitted = found[0].items.filter(function (o) { return o.status === 'confirmed'; });
      var waiting = found[0].items.filter(function (o) { return o.status === 'offered'; });
      var bookings = {};
      found[1].items.forEach(function (b) {
        bookings[b.registration_id] = b;
        childNames[b.registration_id] = b.child_name;
        bookedChild[b.id] = b.child_name;
      });
      return Promise.all(admitted.map(function (o) {
        return PC.api('GET', '/api/v1/onsite/slots?registration_id=' + o.registration_id)
          .then(function (data) { return data.items; }, function (err) { PC.say(error, err.message); return []; });
      })).then(function (slotLists) {
        document.getElementById('pc-onsite-loading').hidden = true;
        document.getElementById('pc-onsite-empty').hidden = admitted.length > 0;
        document.getElementById('pc-onsite').insertBefore(confirmBox, error);
        confirmBox.hidden = true;
        list.textContent = '';
        admitted.forEach(function (o, n) { list.appendChild(card(o, slotLists[n], bookings[o.registration_id])); });
        waiting.forEach(function (o) {
          // Confirming the seat is on the registration's own page (录取结果).
          var note = PC.el('p', { class: 'pc-correction' }, o.school.name + '　' + PC.mask(o.child_name) +
            '：已获得学位，请先');
          note.appendChild(PC.el('a', { href: '/pc/registrations/' + o.registration_id }, '查看录取结果并确认入学'));
          note.appendChild(document.createTextNode('，再预约现场确认。'));
          list.appendChild(note);
        });
      });
    }).catch(function (err) {
      document.getElementById('pc-onsite-loading').hidden = true;
      PC.say(error, err.message);
    });
  }

  function showTicket(bookingId) {
    PC.say(error, '');
    return PC.api('GET', '/api/v1/onsite/bookings/' + bookingId + '/ticket').then(function (t) {
      document.getElementById('pc-entry-school').textContent = t.school.name;
      document.getElementById('pc-entry-time').textContent = span(t.slot);
      document.getElementById('pc-entry-place').textContent = t.slot.place;
      document.getElementById('pc-entry-child').textContent = PC.mask(bookedChild[t.booking_id] || '');
      document.getElementById('pc-entry-code').textContent = t.code;
      var qr = document.getElementById('pc-entry-qr');
      document.getElementById('pc-entry-used').hidden = !t.used;
      qr.hidden = t.used;
      if (!t.used) qr.src = '/pc/onsite/bookings/' + t.booking_id + '/qr.png';
      list.hidden = true;
      ticketBox.hidden = false;
      ticketBox.scrollIntoView();
      document.getElementById('pc-entry-print').focus();
    }, function (err) { PC.say(error, err.message); });
  }

  document.getElementById('pc-entry-print').addEventListener('click', function () { window.print(); });
  document.getElementById('pc-entry-close').addEventListener('click', function () {
    ticketBox.hidden = true;
    list.hidden = false;
  });

  var wanted = Number(new URLSearchParams(window.location.search).get('booking_id'));
  load().then(function () { if (wanted > 0) showTicket(wanted); });
})();

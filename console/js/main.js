document.getElementById('main').textContent = 'Aiget Dev console';
